-- FOCUS charges in the common cost columns: usage, credits (negative), corrections (on the day they
-- restate) and adjustments alike, at BilledCost — the invoice amount (reference §C.3).

with

charges as (

    select * from {{ ref('stg_focus__charges') }}

),

renamed as (

    select
        -- ids
        provider,
        usage_date,
        model,
        service_tier,
        -- a credit or correction of token charges keeps the kind of the charge it adjusts
        token_kind,
        description,

        -- money
        billed_cost_usd,

        -- lineage
        'focus' as cost_source,
        _partition_date

    from charges

)

select * from renamed
