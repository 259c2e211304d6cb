{#- Use the configured schema as-is (staging, intermediate, marts, seeds): BI tools read
    `marts.*`, not dbt's default `main_marts.*`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
