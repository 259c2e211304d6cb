{#-
    Marts by period (day, ISO week, month, all time) recompute only the periods a run touched.

    A run rewrites the runs and calls of its window plus the incremental lookback
    (macros/window.sql); any day, week or month holding one of those days is recomputed whole (from
    all its runs, some older than the window), every other period is left as it is. `all` is
    recomputed every time: it is one row per workflow. Without a window (a hand `dbt build`) or
    when the mart does not exist yet (the first build, a full refresh, a unit test) every period is
    computed.
-#}

{#- First day (a `date`) of the `period` holding the window's first day, lookback included; none
    without a window or outside an incremental build. -#}
{% macro touched_period_start(period) -%}
    {%- set start = window_start() -%}
    {%- if start is none or window_end() is none or not is_incremental() -%}{{ return(none) }}{%- endif -%}
    {%- set day = start.date() -%}
    {%- if period == 'week' -%}
        {%- set day = day - modules.datetime.timedelta(days=day.weekday()) -%}
    {%- elif period == 'month' -%}
        {%- set day = day.replace(day=1) -%}
    {%- endif -%}
    {{ return(day) }}
{%- endmacro %}


{#- SQL predicate on a run date: the runs from which every touched day, week and month is computed. -#}
{% macro in_touched_periods_runs(date_column) -%}
    {%- set week = touched_period_start('week') -%}
    {%- if week is none -%}
        true
    {%- else -%}
        {{ date_column }} >= date '{{ [week, touched_period_start('month')] | min }}'
    {%- endif -%}
{%- endmacro %}


{#- SQL predicate on a mart row: its period was touched by the run (`all` always is). -#}
{% macro in_touched_periods(period_column='period', start_column='period_start') -%}
    {%- set day = touched_period_start('day') -%}
    {%- if day is none -%}
        true
    {%- else -%}
        {%- set end = window_end().date() -%}
        ({{ period_column }} = 'all'
        {%- for period in ['day', 'week', 'month'] %}
            or ({{ period_column }} = '{{ period }}'
                and {{ start_column }} >= date '{{ touched_period_start(period) }}'
                and {{ start_column }} < date '{{ end }}')
        {%- endfor %})
    {%- endif -%}
{%- endmacro %}


{#- Pre-hook of an incremental mart by period: drop the touched periods' rows before they are re-inserted. -#}
{% macro delete_touched_periods(period_column='period', start_column='period_start') -%}
    {{ return(delete_incremental_rows(in_touched_periods(period_column, start_column))) }}
{%- endmacro %}


{#- `delete from this where predicate` in an incremental build, a no-op statement otherwise. -#}
{% macro delete_incremental_rows(predicate) -%}
    {%- if is_incremental() -%}
        {%- do sync_columns_before_delete() -%}
        {{ return('delete from ' ~ this ~ ' where ' ~ predicate) }}
    {%- endif -%}
    {{ return('select 1') }}
{%- endmacro %}


{#- Monthly marts: a predicate on an input's date or timestamp column, true for the rows of every
    touched month (a run's spans and calls start at or after the run, so the run's month bounds them). -#}
{% macro in_touched_months_input(column) -%}
    {%- set month = touched_period_start('month') -%}
    {%- if month is none -%}
        true
    {%- else -%}
        {{ column }} >= date '{{ month }}'
    {%- endif -%}
{%- endmacro %}


{#- Monthly marts: a predicate on the mart's month column, true for the months the run touched. -#}
{% macro in_touched_months(month_column='month') -%}
    {%- set month = touched_period_start('month') -%}
    {%- if month is none -%}
        true
    {%- else -%}
        ({{ month_column }} >= date '{{ month }}' and {{ month_column }} < date '{{ window_end().date() }}')
    {%- endif -%}
{%- endmacro %}


{#- Pre-hook of an incremental monthly mart: drop the touched months' rows before they are re-inserted. -#}
{% macro delete_touched_months(month_column='month') -%}
    {{ return(delete_incremental_rows(in_touched_months(month_column))) }}
{%- endmacro %}
