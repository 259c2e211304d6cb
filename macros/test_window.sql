{#-
    Data tests of a nightly run check the rows the run wrote, not all history.

    dbt wraps the model of every generic data test in `get_where_subquery` (its `where` config).
    This override adds the run's partition window (macros/window.sql, with the incremental
    lookback) on the model's `event_time` column, so `not_null`, `unique`, `accepted_values`,
    `relationships` (child side; the parent is read whole) and the project's generic tests cost
    what a day costs. Without a window (a hand `dbt build`, the CI build) tests read every row; a
    backfill's window is its whole range, so a backfill still checks everything it loaded.

    A `unique` test in a window misses a key duplicated across the window's edge: keys of the
    windowed models (span, call and run ids) are recomputed with their day, so a day's keys only
    meet other days' keys if a source reuses ids, which the raw loaders already quarantine.
-#}

{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- set window = test_event_time_window(relation) -%}
    {%- if where and window -%}
        {%- set where = '(' ~ where ~ ') and ' ~ window -%}
    {%- elif window -%}
        {%- set where = window -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- else -%}
        {{ return(relation) }}
    {%- endif -%}
{%- endmacro %}


{#- The window predicate on the tested model's `event_time` column, or none (no window, no column). -#}
{% macro test_event_time_window(relation) -%}
    {%- if not execute or window_start() is none or window_end() is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- for node_id in model.depends_on.nodes -%}
        {%- set node = graph.nodes.get(node_id) -%}
        {%- if node is not none
            and node.config.get('event_time')
            and node.alias | lower == relation.identifier | lower
            and node.schema | lower == relation.schema | lower -%}
            {{ return(in_window(node.config.get('event_time'))) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}
