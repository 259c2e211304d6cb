-- OpenAI costs in the common cost columns, one row per raw row. The line item reads
-- "<model snapshot>, <kind>" ("gpt-4.1-2025-04-14, cached input") in the responses seen so far
-- (reference §B.2, secondary): the model and token kind are taken from it where it has that shape,
-- and left NULL otherwise (the cost still counts, as a charge of no model).

with

costs as (

    select * from {{ source('openai', 'openai_costs') }}

),

parsed as (

    select
        *,
        nullif(trim(regexp_extract(line_item, '^([^,]+),\s*(.+)$', 1)), '') as line_item_model,
        lower(trim(regexp_extract(line_item, '^([^,]+),\s*(.+)$', 2))) as line_item_kind
    from costs

),

renamed as (

    select
        -- ids
        'openai' as provider,
        cast(make_timestamp(start_time * 1000000) as date) as usage_date,
        line_item_model as model,
        case when contains(line_item_kind, 'batch') then 'batch' end as service_tier,
        case
            when line_item_kind in ('input', 'uncached input', 'input (batch)') then 'uncached_input'
            when line_item_kind in ('cached input', 'cached input (batch)') then 'cache_read'
            when line_item_kind in ('cache write', 'cached input write') then 'cache_write'
            when line_item_kind in ('output', 'output (batch)') then 'output'
        end as token_kind,
        line_item as description,

        -- money: dollars (the gate admits only currency usd)
        {{ money('amount_value') }} as billed_cost_usd,

        -- lineage
        'openai_costs' as cost_source,
        _partition_date

    from parsed

)

select * from renamed
