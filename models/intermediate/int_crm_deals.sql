{#-
    Every CRM deal (HubSpot deals and Salesforce opportunities) in one shape: its CRM account, its
    amount in USD, whether it counts as won revenue, and why not when it does not.

    One HubSpot deal belongs to one company: the Primary association, else the smallest company id
    (a deal listed under two companies is never counted twice). Amounts convert at the latest rate
    on or before the close date that is at most `fx_max_rate_age_days` old; a currency with no rate
    is flagged and left out of revenue, never converted at 1.0. `changed_at` is the latest of the
    CRM's modification and archive times and our load times (of the deal and of its companies): a
    deletion or a new association that does not touch the CRM's modification date still counts.
    A deal whose latest version the loader quarantined is superseded: the stored version is out of
    date, so it is left out of revenue (and its credits withdrawn: changed_at moves) until a valid
    version arrives.
-#}

with

hubspot_deals as (

    select * from {{ ref('stg_hubspot__deals') }}

),

hubspot_companies as (

    select * from {{ ref('stg_hubspot__associations') }}

),

salesforce_opportunities as (

    select * from {{ ref('stg_salesforce__opportunities') }}

),

fx_rates as (

    select * from {{ ref('fx_rates') }}

),

hubspot_deal_company as (

    select
        deal_id,
        arg_min(company_id, (not is_primary, company_id)) as company_id,
        count(*) as companies,
        max(_extracted_at) as associations_extracted_at
    from hubspot_companies
    group by deal_id

),

hubspot as (

    select
        'hubspot' as crm_system,
        hubspot_deals.deal_id,
        hubspot_deals.deal_name,
        hubspot_deal_company.company_id as crm_account_id,
        coalesce(hubspot_deal_company.companies, 0) as crm_accounts_listed,
        hubspot_deals.deal_stage as stage,
        hubspot_deals.amount,
        hubspot_deals.currency,
        hubspot_deals.closed_at,
        cast(hubspot_deals.closed_at as date) as closed_on,
        hubspot_deals.modified_at,
        greatest(
            hubspot_deals.modified_at,
            hubspot_deals.archived_at,
            hubspot_deals._extracted_at,
            hubspot_deals._superseded_at,
            hubspot_deal_company.associations_extracted_at
        ) as changed_at,
        hubspot_deals.is_won,
        hubspot_deals.is_archived as is_removed,
        hubspot_deals._superseded_at is not null as is_superseded
    from hubspot_deals
    left join hubspot_deal_company on hubspot_deals.deal_id = hubspot_deal_company.deal_id

),

salesforce as (

    select
        'salesforce' as crm_system,
        opportunity_id as deal_id,
        opportunity_name as deal_name,
        account_id as crm_account_id,
        case when account_id is null then 0 else 1 end as crm_accounts_listed,
        stage_name as stage,
        amount,
        currency,
        closed_at,
        -- the CloseDate itself: closed_at is the end of that day (the next midnight)
        close_date as closed_on,
        modified_at,
        greatest(modified_at, _extracted_at, _superseded_at) as changed_at,
        is_won,
        is_deleted as is_removed,
        _superseded_at is not null as is_superseded
    from salesforce_opportunities

),

unioned as (

    select * from hubspot
    union all
    select * from salesforce

),

known_currencies as (

    select distinct currency from fx_rates

),

rated as (

    select
        unioned.crm_system || ':' || unioned.deal_id as deal_key,
        unioned.*,
        fx_rates.rate_date as fx_rate_date,
        fx_rates.usd_per_unit
    from unioned
    left join fx_rates
        on
            unioned.currency = fx_rates.currency
            and unioned.closed_on >= fx_rates.rate_date
            and unioned.closed_on - interval ({{ var('fx_max_rate_age_days') }}) day <= fx_rates.rate_date
    qualify row_number() over (partition by unioned.crm_system, unioned.deal_id order by fx_rates.rate_date desc) = 1

),

converted as (

    select
        rated.*,
        case
            when rated.amount is null then 'no_amount'
            when rated.currency = 'USD' then 'usd'
            when known_currencies.currency is null then 'unknown_currency'
            when rated.usd_per_unit is null then 'no_rate'
            else 'converted'
        end as fx_status
    from rated
    left join known_currencies on rated.currency = known_currencies.currency

),

final as (

    select
        -- ids
        deal_key,
        crm_system,
        deal_id,
        deal_name,
        crm_account_id,
        crm_accounts_listed,
        stage,

        -- money
        amount,
        currency,
        fx_status,
        fx_rate_date,
        usd_per_unit,
        case
            when fx_status = 'usd' then {{ money('amount') }}
            when fx_status = 'converted' then {{ money('amount * usd_per_unit') }}
        end as amount_usd,

        -- time
        closed_at,
        closed_on,
        modified_at,
        changed_at,

        -- status
        is_won,
        is_removed,
        is_superseded,
        is_won
        and not is_removed
        and not is_superseded
        and closed_at is not null
        and crm_account_id is not null
        and fx_status in ('usd', 'converted') as is_won_revenue

    from converted

)

select * from final
