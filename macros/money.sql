{#-
    Exact decimal division.

    DuckDB divides DECIMAL by DECIMAL in DOUBLE. Money must stay exact, so both sides are scaled
    to integers of 1e-10 units (HUGEINT) and divided with round-half-away-from-zero, then scaled
    back: the result is DECIMAL(38, 10), NULL when the denominator is NULL or zero.
-#}
{% macro divide_exact(numerator, denominator, scale=10) -%}
    {%- set unit = '1' ~ ('0' * scale) -%}
    (case
        when ({{ denominator }}) is null or ({{ denominator }}) = 0 or ({{ numerator }}) is null then null
        else cast(
            sign(cast(({{ numerator }}) as decimal(38, {{ scale }})))
            * sign(cast(({{ denominator }}) as decimal(38, {{ scale }})))
            * (
                (
                    2 * abs(cast(cast(({{ numerator }}) as decimal(38, {{ scale }})) * {{ unit }} as hugeint))
                    * {{ unit }}
                    + abs(cast(cast(({{ denominator }}) as decimal(38, {{ scale }})) * {{ unit }} as hugeint))
                )
                // (2 * abs(cast(cast(({{ denominator }}) as decimal(38, {{ scale }})) * {{ unit }} as hugeint)))
            ) as decimal(38, 0)
        ) * cast('0.{{ '0' * (scale - 1) }}1' as decimal(38, {{ scale }}))
    end)
{%- endmacro %}


{#- A money column: DECIMAL(38, 10) USD (one token of a cheap model costs under a millionth). -#}
{% macro money(expression) -%}
    cast({{ expression }} as decimal(38, 10))
{%- endmacro %}
