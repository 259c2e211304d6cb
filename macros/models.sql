{#- A call's model as the economics marts name it: the price book's id (a dated snapshot and its
    alias are one model), else the reported name lower-cased (a model with no price). -#}
{% macro model_name(price_model_id='price_model_id', model='model') -%}
    coalesce({{ price_model_id }}, lower({{ model }}))
{%- endmacro %}
