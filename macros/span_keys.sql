{#-
    OTLP ids as integers, for the joins that walk a trace's span tree. The hex text is 32 and 16
    characters (48 and 32 bytes with DuckDB's string header, and compared byte by byte); as a
    UHUGEINT and a UBIGINT the tree of 10M spans is a third as wide and its hash joins compare
    numbers. Exact, not hashed: the raw gate admits only lower-case hex ids of these lengths.
-#}

{% macro trace_key(column) -%}
    ((('0x' || left({{ column }}, 16))::ubigint::uhugeint << 64) | ('0x' || right({{ column }}, 16))::ubigint::uhugeint)
{%- endmacro %}


{% macro span_key(column) -%}
    ('0x' || {{ column }})::ubigint
{%- endmacro %}
