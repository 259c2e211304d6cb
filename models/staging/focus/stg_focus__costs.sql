-- FOCUS charges in the common cost columns: usage, credits (negative), corrections (on the day they
-- restate) and adjustments alike, at EffectiveCost, the day's amortized cost (reference §C.3): an
-- upfront commitment's Purchase row has EffectiveCost 0 and its cost is spread over the usage it
-- covers, whose BilledCost is 0. At BilledCost, the invoice amount, the purchase would be one day's
-- spend that no trace explains and the days it covers would look free. A row without EffectiveCost
-- (a mandatory column, but an export may leave it empty) counts at BilledCost.

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
        coalesce(effective_cost_usd, billed_cost_usd) as billed_cost_usd,

        -- lineage
        'focus' as cost_source,
        _partition_date

    from charges

)

select * from renamed
