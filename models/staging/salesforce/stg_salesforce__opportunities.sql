with

opportunities as (

    select * from {{ source('salesforce', 'salesforce_opportunities') }}

),

renamed as (

    select
        -- ids
        id as opportunity_id,
        account_id,
        name as opportunity_name,
        stage_name,

        -- money: in the record's currency (multi-currency orgs), else the org's
        amount,
        coalesce(currency_iso_code, org_currency_iso_code) as currency,

        -- status
        coalesce(is_won, false) as is_won,
        coalesce(is_closed, false) as is_closed,
        is_deleted,

        -- time: CloseDate is a day; the deal counts as closed at the end of it
        close_date,
        cast(close_date + interval 1 day as timestamp) as closed_at,
        system_modstamp as modified_at,
        last_modified_date,

        -- lineage: a superseded version is out of date (the CRM's newer one was quarantined)
        _extracted_at,
        _superseded_at

    from opportunities

)

select * from renamed
