{#-
    Which runs' account ids stand for which CRM account: the rows of seeds/account_map.csv, plus,
    for every CRM account a deal names, its id as it is (`30100001`, `001…`) and, for HubSpot, the
    `hs_company_<id>` form (teams tag traces with the CRM id itself). A trace account id in the
    map never matches as-is: the map is the truth for it.
-#}

with

account_map as (

    select * from {{ ref('account_map') }}

),

deals as (

    select * from {{ ref('int_crm_deals') }}

),

crm_accounts as (

    select distinct
        crm_system,
        crm_account_id
    from deals
    where crm_account_id is not null

),

as_is as (

    select
        crm_account_id as account_id,
        crm_system,
        crm_account_id
    from crm_accounts
    union all
    select
        'hs_company_' || crm_account_id as account_id,
        crm_system,
        crm_account_id
    from crm_accounts
    where crm_system = 'hubspot'

),

final as (

    select
        account_id,
        crm_system,
        crm_account_id,
        'account_map' as matched_by
    from account_map
    union all
    select
        as_is.account_id,
        as_is.crm_system,
        as_is.crm_account_id,
        'crm_id_as_is' as matched_by
    from as_is
    left join account_map on as_is.account_id = account_map.account_id
    where account_map.account_id is null

)

select * from final
