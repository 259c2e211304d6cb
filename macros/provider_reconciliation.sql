{#-
    Helpers of the provider usage/cost models and the reconciliation mart.
-#}


{#- The staging models named in a var (provider_usage_models, provider_cost_models), one after the
    other. A provider joins the reconciliation by adding its staging model to the var: the refs are
    resolved at parse time, so lineage stays exact. `empty` is the typed empty select used when the
    list is empty. -#}
{% macro union_provider_models(var_name, empty) -%}
    {%- set names = var(var_name, []) -%}
    {%- if names | length == 0 -%}
        {{ empty }}
    {%- else -%}
        {%- for name in names %}
    select * from {{ ref(name) }}
            {%- if not loop.last %}
    union all by name
            {%- endif %}
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}


{#- Usage a provider bills outside its cost report: Anthropic's Priority Tier is billed under its
    own commitment and never appears in the cost report (reference §A.2), so its usage is reconciled
    as such, not as a gap. -#}
{% macro billed_outside_cost_report(provider, service_tier) -%}
    coalesce({{ provider }} = 'anthropic' and lower({{ service_tier }}) in ('priority', 'priority_on_demand'), false)
{%- endmacro %}


{#- The part of one token kind's billed cost that no trace explains: the bill for that kind times the
    share of the kind's reported tokens the traces do not hold. A kind billed without reported tokens
    of its own falls back to the share of all tokens; a charge with nothing reported and nothing
    traced (web search, a model no trace used) is unexplained when positive, while a credit there
    explains nothing and stays with the explained part. Exact: DECIMAL(38,10). -#}
{% macro unexplained_billed(billed, reported, traced, reported_total, traced_total) -%}
    case
        when coalesce({{ billed }}, 0) = 0 then {{ money(0) }}
        when {{ reported }} > 0
            then {{ divide_exact(billed ~ ' * greatest(' ~ reported ~ ' - ' ~ traced ~ ', 0)', reported) }}
        when {{ reported_total }} > 0
            then {{ divide_exact(billed ~ ' * greatest(' ~ reported_total ~ ' - ' ~ traced_total ~ ', 0)', reported_total) }}
        when {{ traced_total }} = 0 then {{ money('greatest(' ~ billed ~ ', 0)') }}
        else {{ money(0) }}
    end
{%- endmacro %}


{#- Typed empty selects in the common staging shapes, for an empty provider list. -#}
{% macro empty_usage() -%}
    select
        cast(null as varchar) as provider,
        cast(null as date) as usage_date,
        cast(null as varchar) as model,
        cast(null as varchar) as service_tier,
        cast(null as bigint) as uncached_input_tokens,
        cast(null as bigint) as cache_read_tokens,
        cast(null as bigint) as cache_write_5m_tokens,
        cast(null as bigint) as cache_write_1h_tokens,
        cast(null as bigint) as output_tokens,
        cast(null as bigint) as requests,
        cast(null as varchar) as usage_source
    where false
{%- endmacro %}


{% macro empty_costs() -%}
    select
        cast(null as varchar) as provider,
        cast(null as date) as usage_date,
        cast(null as varchar) as model,
        cast(null as varchar) as service_tier,
        cast(null as varchar) as token_kind,
        cast(null as varchar) as description,
        cast(null as decimal(38, 10)) as billed_cost_usd,
        cast(null as varchar) as cost_source
    where false
{%- endmacro %}
