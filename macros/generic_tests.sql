{#- Fails on every row where the column is negative (NULL passes: "unknown" is not "negative"). -#}
{% test non_negative(model, column_name) %}
    select * from {{ model }} where {{ column_name }} < 0
{% endtest %}


{#- Fails on every row where `expression` is false. -#}
{% test expression_is_true(model, expression) %}
    select * from {{ model }} where not ({{ expression }})
{% endtest %}
