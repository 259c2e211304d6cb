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


{#- A call's money: 0 when the call reported no usage (a failed call costs nothing), NULL when it
    reported usage but no price matched (flagged, never $0), else the amount. -#}
{% macro call_money(amount) -%}
    cast(case when not has_usage then 0 when is_priced then {{ amount }} end as decimal(38, 10))
{%- endmacro %}
