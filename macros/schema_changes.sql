{#-
    Schema changes of an incremental model in an existing warehouse.

    Every incremental model here deletes its window's rows in a pre-hook, and DuckDB refuses to
    commit a transaction that changed a table's rows before altering it ("another transaction has
    altered this table"). dbt applies `on_schema_change` after the pre-hooks, so a model that gained
    a column (mart_cost_anomalies.is_episode) failed every night on a warehouse built before it.
    The delete macros call `sync_columns_before_delete()` first: it applies the same dbt schema
    change, against the model's columns read from its SQL with `limit 0`, before any row is
    touched; dbt then finds nothing left to change.
-#}
{% macro sync_columns_before_delete() -%}
    {%- set on_schema_change = incremental_validate_on_schema_change(config.get('on_schema_change'), default='ignore') -%}
    {%- if on_schema_change != 'ignore' -%}
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
