{#-
    Revenue attribution: split each won deal's amount over its eligible touches (runs, or manual
    baseline engagements), for every attribution model at once.

    `eligible` is a relation with one row per (deal, touch): `deal_key`, `amount_usd`,
    `days_before_close` (> 0, ≤ the window) and the columns named by `touch_id` and `touched_at`.
    Models: linear (equal shares), last_touch (the latest touch takes all), first_touch (the
    earliest), time_decay (weight 2^(-days/half-life), relative to the touch nearest the close).

    Money stays exact and a deal is never over-credited: the amount is split in integer units of
    1e-10 USD by the largest-remainder rule (each touch gets floor(amount × weight / total), the
    units left over go one each to the largest remainders), so a deal's credits sum to exactly its
    amount. Ties go to the earlier touch, then the smaller id. Rows with zero credit are dropped.
-#}

{#- A touch at `touched_at` is eligible for a deal closed at `closed_at`: it lies in
    [closed_at - attribution_window_days, closed_at): exactly 30 days before counts, the close does not. -#}
{% macro in_attribution_window(closed_at, touched_at) -%}
    ({{ closed_at }} - interval ({{ var('attribution_window_days') }}) day <= {{ touched_at }}
    and {{ closed_at }} > {{ touched_at }})
{%- endmacro %}


{% macro attribution_models() -%}
    {{ return(['linear', 'last_touch', 'first_touch', 'time_decay']) }}
{%- endmacro %}


{% macro allocate_deal_credit(eligible, touch_id, touched_at) -%}
    select
        * exclude (amount_units, weight_units, total_weight_units, base_units, remainder_units, leftover_units,
            leftover_rank, credit_units, recency_rank, order_rank, nearest_days),
        cast(weight_units as double) / total_weight_units as weight_share,
        cast(cast(credit_units as decimal(38, 0)) * 0.0000000001 as decimal(38, 10)) as credit_usd
    from (
        select
            *,
            base_units + case when leftover_rank <= leftover_units then 1 else 0 end as credit_units
        from (
            select
                *,
                amount_units - sum(base_units) over (partition by deal_key, attribution_model) as leftover_units,
                row_number() over (
                    partition by deal_key, attribution_model
                    order by remainder_units desc, {{ touched_at }}, {{ touch_id }}
                ) as leftover_rank
            from (
                select
                    *,
                    (amount_units * weight_units) // total_weight_units as base_units,
                    (amount_units * weight_units) % total_weight_units as remainder_units
                from (
                    select
                        *,
                        sum(weight_units) over (partition by deal_key, attribution_model) as total_weight_units
                    from (
                        select
                            touches.*,
                            models.attribution_model,
                            cast(touches.amount_usd * 10000000000 as hugeint) as amount_units,
                            case models.attribution_model
                                when 'linear' then cast(1 as hugeint)
                                when 'last_touch' then cast(touches.recency_rank = 1 as hugeint)
                                when 'first_touch' then cast(touches.order_rank = 1 as hugeint)
                                when 'time_decay' then cast(round(
                                    pow(
                                        2.0,
                                        -(touches.days_before_close - touches.nearest_days)
                                        / {{ var('attribution_half_life_days') }}
                                    ) * 1000000000000
                                ) as hugeint)
                            end as weight_units
                        from (
                            select
                                *,
                                row_number() over (
                                    partition by deal_key order by {{ touched_at }} desc, {{ touch_id }} desc
                                ) as recency_rank,
                                row_number() over (
                                    partition by deal_key order by {{ touched_at }}, {{ touch_id }}
                                ) as order_rank,
                                min(days_before_close) over (partition by deal_key) as nearest_days
                            from {{ eligible }}
                        ) as touches
                        cross join (
                            select unnest({{ attribution_models() }}) as attribution_model
                        ) as models
                    )
                )
            )
        )
    )
    where credit_units > 0
{%- endmacro %}


{#- SQL predicate for the deals a nightly run re-attributes: those that changed (edited, deleted,
    reopened, re-associated: int_crm_deals.changed_at) since the window's start minus the lookback, those that close within the attribution
    window after a run the window recomputes (a late label or trace moves their split), and those
    whose USD amount the stored credits no longer carry (`deals_converted_otherwise`). `true`
    when the run has no window (a full build). -#}
{% macro deal_needs_attribution(changed_at, closed_at, deal_key='deal_key') -%}
    {%- set start = window_start() -%}
    {%- set end = window_end() -%}
    {%- if start is none or end is none -%}
        true
    {%- else -%}
        {%- set horizon = end + modules.datetime.timedelta(days=var('attribution_window_days') | int) -%}
        ({{ changed_at }} >= timestamp '{{ start.isoformat(sep=" ") }}'
        or ({{ closed_at }} >= timestamp '{{ start.isoformat(sep=" ") }}'
            and {{ closed_at }} < timestamp '{{ horizon.isoformat(sep=" ") }}')
        or {{ deal_key }} in ({{ deals_converted_otherwise() }}))
    {%- endif -%}
{%- endmacro %}


{#- Query of the deal keys whose revenue in USD (nothing unless the deal is won revenue) differs
    from the amount their stored credits split: a rate added to or corrected in seeds/fx_rates.csv
    converts a deal again (or for the first time, as assert_won_deals_convert_to_usd asks) without
    moving its changed_at. Only deals in another currency than USD can convert otherwise; those
    that are won revenue with no run to credit are re-read every night, and credit nothing again. -#}
{% macro deals_converted_otherwise() -%}
    select deals.deal_key
    from {{ ref('int_crm_deals') }} as deals
    left join (
        -- the credits of deals in another currency only: the aggregate stays as small as they are
        select deal_key, max(deal_amount_usd) as deal_amount_usd
        from {{ this }}
        where deal_key in (
            select deal_key from {{ ref('int_crm_deals') }} where fx_status not in ('usd', 'no_amount')
        )
        group by deal_key
    ) as credited on deals.deal_key = credited.deal_key
    where
        deals.fx_status not in ('usd', 'no_amount')
        and (case when deals.is_won_revenue then deals.amount_usd end) is distinct from credited.deal_amount_usd
{%- endmacro %}


{#- Pre-hook of int_deals_attributed_to_runs: drop the rows of every deal the run re-attributes,
    won or not any more (a deleted or reopened deal loses its credits here and gets none back). -#}
{% macro delete_reattributed_deals() -%}
    {%- if is_incremental() -%}
        {%- do sync_columns_before_delete() -%}
        delete from {{ this }} where deal_key in (
            select deal_key from {{ ref('int_crm_deals') }}
            where {{ deal_needs_attribution('changed_at', 'closed_at') }}
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
