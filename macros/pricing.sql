{#-
    Helpers that let SQL price LLM calls the way genai-prices does (orchestration/prices.py exports
    its database into seeds/model_prices.csv and seeds/model_match_rules.csv).
-#}


{#- One clause of a model_match_rules row against a lower-cased text. Values of the string clauses
    are stored lower-cased; regexes run as stored on the lower-cased text, as genai-prices runs
    them. DuckDB's regexp_matches searches (like Python's re.search), it does not anchor. -#}
{% macro match_clause(kind, value, text) -%}
    case {{ kind }}
        when 'equals' then {{ text }} = {{ value }}
        when 'starts_with' then starts_with({{ text }}, {{ value }})
        when 'ends_with' then ends_with({{ text }}, {{ value }})
        when 'contains' then contains({{ text }}, {{ value }})
        when 'regex' then regexp_matches({{ text }}, {{ value }})
        when 'not_regex' then not regexp_matches({{ text }}, {{ value }})
    end
{%- endmacro %}


{#- One `-`-separated part of a model reference with a compact date dashed: genai-prices' fallback
    for compact dated refs (`gpt-5.2-20251211` → `gpt-5.2-2025-12-11`) rewrites every `-YYYYMMDD`
    that is a real date followed by `-`, `:` or the end. Python does it with a lookahead regex,
    which RE2 lacks, so the reference is split on `-`: a part after the first is rewritten when it
    is 8 digits of a valid date, alone or before `:`. -#}
{% macro dashed_compact_date(part, part_no) -%}
    case
        when
            {{ part_no }} > 1
            and regexp_full_match({{ part }}, '20[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])(:.*)?')
            and try_strptime(left({{ part }}, 8), '%Y%m%d') is not null
            then left({{ part }}, 4) || '-' || substr({{ part }}, 5, 2) || '-' || substr({{ part }}, 7, 2)
            || substr({{ part }}, 9)
        else {{ part }}
    end
{%- endmacro %}


{#- A UTC time of day within [from, to); a window whose end is before its start wraps midnight.
    NULL bounds mean all day. -#}
{% macro time_of_day_between(at, time_from, time_to) -%}
    (
        {{ time_from }} is null
        or case
            when {{ time_to }} > {{ time_from }}
                then cast({{ at }} as time) >= {{ time_from }} and cast({{ at }} as time) < {{ time_to }}
            else cast({{ at }} as time) >= {{ time_from }} or cast({{ at }} as time) < {{ time_to }}
        end
    )
{%- endmacro %}


{#- USD per token from USD per million tokens. Exact: a decimal constant keeps it DECIMAL (dividing
    two DECIMALs would give DOUBLE in DuckDB), and 18 places hold the finest price in the database
    (0.041666666666666664 $/MTok = 4.17e-8 $/token) to well under 1e-8 USD per call. -#}
{% macro usd_per_token(usd_per_mtok) -%}
    cast({{ usd_per_mtok }} * 0.000001 as decimal(38, 18))
{%- endmacro %}


{#- Money of `tokens` at a per-token price, DECIMAL(38,10) like every money column. -#}
{% macro token_cost(tokens, usd_per_token) -%}
    cast(coalesce({{ tokens }}, 0) * coalesce({{ usd_per_token }}, 0) as decimal(38, 10))
{%- endmacro %}


{#- A call's money: 0 when a failed call reported no usage (it costs nothing), NULL when its cost is
    not known (flagged by `needs_price`, never $0): a call that did not fail and reported no usage
    (a stream read without its usage chunk), or one that reported usage no price matched; else the
    amount. -#}
{% macro call_money(amount) -%}
    cast(case
        when not has_usage then case when status = 'error' then 0 end
        when is_priced then {{ amount }}
    end as decimal(38, 10))
{%- endmacro %}


{#- Whether a call's cost is unknown (its money NULL): usage and no price, or no usage from a call
    that did not fail. -#}
{% macro call_needs_price() -%}
    ((has_usage and not is_priced) or (not has_usage and status <> 'error'))
{%- endmacro %}


{#- Every distinct `model_ref` of `relation` with its compact dates dashed (`model_ref_dashed`):
    genai-prices retries an unmatched reference that way (gpt-4.1-20250414 → gpt-4.1-2025-04-14). -#}
{% macro dashed_model_refs(relation) -%}
    select
        model_ref,
        string_agg({{ dashed_compact_date('part', 'part_no') }}, '-' order by part_no) as model_ref_dashed
    from (
        select
            model_ref,
            unnest(string_split(model_ref, '-')) as part,
            generate_subscripts(string_split(model_ref, '-'), 1) as part_no
        from (select distinct model_ref from {{ relation }}) as refs
    ) as model_ref_parts
    group by model_ref
{%- endmacro %}


{#- The price book model each (provider, model) of `lookups` resolves to, by genai-prices' matching
    rules (`match_rules`: seeds/model_match_rules.csv): the lookup provider's own rules first, then
    its fallback providers' in order; the reference as given, then with its compact date dashed
    (only when the first matched nothing); the first matching rule wins. `lookups` holds provider,
    model, model_ref, model_ref_dashed and lookup_provider_id (NULL: not searched). One row per
    matched (provider, model): lookup_provider_id, price_provider_id (the provider whose rule
    matched), price_model_id and is_fallback_model. Both the traced calls' pricing and the
    providers' reported model names go through here, so they meet on the same id. -#}
{% macro matched_price_models(lookups, match_rules) -%}
    with

    searched_providers as (

        select
            provider,
            model,
            model_ref,
            model_ref_dashed,
            lookup_provider_id,
            lookup_provider_id as searched_provider_id,
            0 as fallback_rank
        from {{ lookups }}
        where lookup_provider_id is not null

        union all

        select
            lookups.provider,
            lookups.model,
            lookups.model_ref,
            lookups.model_ref_dashed,
            lookups.lookup_provider_id,
            match_rules.fallback_provider_id as searched_provider_id,
            match_rules.match_order as fallback_rank
        from {{ lookups }} as lookups
        inner join {{ match_rules }} as match_rules
            on
                match_rules.rule_scope = 'fallback'
                and lookups.lookup_provider_id = match_rules.lookup_provider_id

    ),

    search_attempts as (

        select
            *,
            1 as attempt,
            model_ref as searched_ref
        from searched_providers

        union all

        select
            *,
            2 as attempt,
            model_ref_dashed as searched_ref
        from searched_providers
        where model_ref_dashed != model_ref

    ),

    model_hits as (

        select
            search_attempts.provider,
            search_attempts.model,
            search_attempts.lookup_provider_id,
            search_attempts.searched_provider_id,
            search_attempts.fallback_rank,
            search_attempts.attempt,
            match_rules.match_order,
            match_rules.model_id,
            match_rules.rule_no,
            bool_and(
                {{ match_clause('match_rules.clause_kind', 'match_rules.clause_value', 'search_attempts.searched_ref') }}
            ) as is_match
        from search_attempts
        inner join {{ match_rules }} as match_rules
            on
                match_rules.rule_scope = 'model'
                and search_attempts.searched_provider_id = match_rules.lookup_provider_id
        group by all

    )

    select
        provider,
        model,
        lookup_provider_id,
        searched_provider_id as price_provider_id,
        model_id as price_model_id,
        -- genai-prices ignores price variants for a model found through a fallback provider
        fallback_rank > 0 as is_fallback_model
    from model_hits
    where is_match
    qualify row_number() over (
        partition by provider, model
        order by attempt asc, fallback_rank asc, match_order asc
    ) = 1
{%- endmacro %}
