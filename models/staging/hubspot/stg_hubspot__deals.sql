with

deals as (

    select * from {{ source('hubspot', 'hubspot_deals') }}

),

renamed as (

    select
        -- ids
        id as deal_id,
        dealname as deal_name,
        pipeline,
        dealstage as deal_stage,

        -- money: in the deal's currency; an empty currency is the portal's (a var)
        amount,
        coalesce(deal_currency_code, '{{ var("crm_default_currency") }}') as currency,

        -- status: won by the flag or by a closed-won stage
        coalesce(hs_is_closed_won, false)
        or dealstage in (
            {%- for stage in var('hubspot_closed_won_stages') %}'{{ stage }}'{{ ", " if not loop.last }}{% endfor -%}
        ) as is_won,
        archived as is_archived,

        -- time
        closedate as closed_at,
        hs_lastmodifieddate as modified_at,
        created_at,
        archived_at,
        merged_into_id as merged_into_deal_id,

        -- lineage: a superseded version is out of date (the CRM's newer one was quarantined)
        _extracted_at,
        _superseded_at

    from deals

)

select * from renamed
