with

deal_companies as (

    select * from {{ source('hubspot', 'hubspot_deal_companies') }}

),

unnested as (

    select
        deal_id,
        unnest(company_ids) as company_id,
        primary_company_id,
        _extracted_at
    from deal_companies

),

renamed as (

    select
        -- ids
        deal_id,
        company_id,

        -- association
        company_id = coalesce(primary_company_id, '') as is_primary,

        -- lineage
        _extracted_at

    from unnested

)

select * from renamed
