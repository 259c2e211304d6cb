{#- Fails on every row where the column is negative (NULL passes: "unknown" is not "negative"). -#}
{% test non_negative(model, column_name) %}
    select * from {{ model }} where {{ column_name }} < 0
{% endtest %}


{#- Fails on every row where `expression` is false or NULL: a rule that cannot be decided on a row
    is not met by it (with `where not (expression)` a NULL operand passed every check). An
    expression states the NULLs it allows, e.g. `x is null or x <= y`. -#}
{% test expression_is_true(model, expression) %}
    select * from {{ model }} where not coalesce(({{ expression }}), false)
{% endtest %}


{#- Fails on every combination of `columns` that more than one row holds. -#}
{% test unique_combination(model, columns) %}
    select {{ columns | join(', ') }}, count(*) as rows_holding_it
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
