{#-
    The partition window of a run.

    Dagster passes the partition range as `--event-time-start/--event-time-end` (not as --vars):
    those flags do not change what dbt parses, so partial parsing survives from one nightly run to
    the next (a --vars change forces a full re-parse: ~6 s here). A `window_start`/`window_end`
    var is accepted too, for hand runs. With neither, incremental models process all history.

    Incremental models recompute `lookback_days` before the window start: labels arrive up to
    48 h late and runs that cross midnight need their first day.
-#}

{% macro window_bound(name) -%}
    {%- set value = invocation_args_dict.get('event_time_' ~ name) or var('window_' ~ name, none) -%}
    {%- if value -%}{{ return(modules.datetime.datetime.fromisoformat((value | string).replace('Z', ''))) }}{%- endif -%}
    {{ return(none) }}
{%- endmacro %}


{% macro window_start(lookback=true) -%}
    {%- set start = window_bound('start') -%}
    {%- if start is none -%}{{ return(none) }}{%- endif -%}
    {%- if lookback -%}
        {%- set start = start - modules.datetime.timedelta(days=var('lookback_days') | int) -%}
    {%- endif -%}
    {{ return(start) }}
{%- endmacro %}


{% macro window_end() -%}
    {{ return(window_bound('end')) }}
{%- endmacro %}


{#- How far either side of the window a run's spans and calls are read. A run lasts at most
    `lookback_days` (from its first span's start to its last's): the last night that rewrites a run
    (its start in the lookback) then reads its last span, and a night that rewrites a span reads its
    run's first. A run resumed later under its id, or a trace that long, is what
    tests/dbt/assert_runs_last_at_most_lookback_days.sql and the runs' rollup guard against. -#}
{% macro run_pad_days() -%}
    {{ return(var('lookback_days') | int) }}
{%- endmacro %}


{#- SQL predicate: `column` lies in [window start - lookback, window end). `true` when no window.
    `pad_days` widens both ends (context rows); `upper=false` drops the end bound, for inputs that
    arrive after the rows they describe (labels, evaluations). -#}
{% macro in_window(column, lookback=true, pad_days=0, upper=true) -%}
    {%- set start = window_start(lookback) -%}
    {%- set end = window_end() -%}
    {%- if start is none or end is none -%}
        true
    {%- else -%}
        {%- set pad = modules.datetime.timedelta(days=pad_days) -%}
        ({{ column }} >= timestamp '{{ (start - pad).isoformat(sep=" ") }}'
        {%- if upper %} and {{ column }} < timestamp '{{ (end + pad).isoformat(sep=" ") }}'{% endif %})
    {%- endif -%}
{%- endmacro %}


{#- Pre-hook for incremental models: drop the window's rows before they are re-inserted, so a
    re-run replaces a day instead of duplicating it, and rows that vanished upstream vanish here.
    `upper=false` drops every row from the window's start on (findings of later days, re-judged). -#}
{% macro delete_window(column, upper=true) -%}
    {%- if is_incremental() -%}
        {%- do sync_columns_before_delete() -%}
        delete from {{ this }} where {{ in_window(column, upper=upper) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
