{#-
    Schema changes of an incremental model in an existing warehouse.

    Every incremental model here deletes its window's rows in a pre-hook, and DuckDB refuses to
    commit a transaction that changed a table's rows before altering it ("another transaction has
    altered this table"). dbt applies `on_schema_change` after the pre-hooks, so a model that gained
    a column (mart_cost_anomalies.is_episode) failed every night on a warehouse built before it.
    The delete macros call `sync_columns_before_delete()` first: when the model's columns (its SQL
    described with `limit 0`) differ from the table's, it applies dbt's own schema change before any
    row is touched; dbt then finds nothing left to change.
-#}
{% macro sync_columns_before_delete() -%}
    {%- set on_schema_change = incremental_validate_on_schema_change(config.get('on_schema_change'), default='ignore') -%}
    {%- if on_schema_change == 'ignore' -%}{{ return(none) }}{%- endif -%}
    {#- One query decides whether anything changed (nearly every night nothing has): a column of the
        model the table lacks, or, under sync_all_columns, a changed type or a dropped column. -#}
    {%- set compared = 'column_name, column_type' if on_schema_change == 'sync_all_columns' else 'column_name' -%}
    {%- set model_columns = 'select ' ~ compared ~ ' from (describe select * from (\n' ~ compiled_code ~ '\n) limit 0)' -%}
    {%- set table_columns = 'select ' ~ compared ~ ' from (describe ' ~ this ~ ')' -%}
    {%- set differences -%}
        select count(*) from (
            ({{ model_columns }} except {{ table_columns }})
            {%- if on_schema_change == 'sync_all_columns' %}
            union all ({{ table_columns }} except {{ model_columns }})
            {%- endif %}
        )
    {%- endset -%}
    {%- if run_query(differences).columns[0].values()[0] > 0 -%}
        {%- set shape = make_temp_relation(this, '__dbt_columns') -%}
        {%- do run_query(create_table_as(true, shape, 'select * from (\n' ~ compiled_code ~ '\n) limit 0')) -%}
        {%- do process_schema_changes(on_schema_change, shape, this.incorporate(type='table')) -%}
        {%- do run_query('drop table ' ~ shape) -%}
    {%- endif -%}
{%- endmacro %}


{#-
    DuckDB changes a column's type in place. dbt's default adds a column, copies, drops the old one
    and renames, which moves the column to the end: a published mart altered by
    `on_schema_change: sync_all_columns` would then list its columns in another order than a
    warehouse built fresh.
-#}
{% macro duckdb__alter_column_type(relation, column_name, new_column_type) -%}
    {% call statement('alter_column_type') %}
        alter table {{ relation.render() }} alter column {{ adapter.quote(column_name) }} set data type {{ new_column_type }}
    {% endcall %}
{%- endmacro %}
