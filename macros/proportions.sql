{#-
    Confidence intervals for proportions and their differences.

    Success rates here come from tens to thousands of labeled runs and sit near 1 (0.7–0.95), where
    the textbook Wald interval p ± z·sqrt(p(1−p)/n) undercovers and can leave [0, 1]. The Wilson
    score interval keeps near-nominal coverage there and is defined at p = 0 and p = 1; for a
    difference of two independent rates, Newcombe's hybrid score interval (Newcombe 1998, "Interval
    estimation for the difference between independent proportions", method 10) combines the two
    Wilson intervals and keeps those properties. Arithmetic is DOUBLE (square roots); callers round.
-#}



{#- Lower (`side` = -1) or upper (`side` = 1) Wilson score bound of `successes` out of `n`; NULL when n = 0. -#}
{% macro wilson_bound(successes, n, side, z=1.959963984540054) -%}
    (case when ({{ n }}) > 0 then
        (
            cast({{ successes }} as double) / ({{ n }}) + {{ z * z }} / (2.0 * ({{ n }}))
            + ({{ side }}) * {{ z }} * sqrt(
                (cast({{ successes }} as double) / ({{ n }})) * (1 - cast({{ successes }} as double) / ({{ n }}))
                / ({{ n }})
                + {{ z * z }} / (4.0 * ({{ n }}) * ({{ n }}))
            )
        ) / (1 + {{ z * z }} / ({{ n }}))
    end)
{%- endmacro %}


{#- Lower (`side` = -1) or upper (`side` = 1) bound of Newcombe's hybrid score interval for
    p1 − p2, with p1 = s1 / n1 and p2 = s2 / n2; NULL when either sample is empty. -#}
{% macro newcombe_difference_bound(s1, n1, s2, n2, side, z=1.959963984540054) -%}
    {%- set p1 = '(cast(' ~ s1 ~ ' as double) / (' ~ n1 ~ '))' -%}
    {%- set p2 = '(cast(' ~ s2 ~ ' as double) / (' ~ n2 ~ '))' -%}
    (case when ({{ n1 }}) > 0 and ({{ n2 }}) > 0 then
        {%- if side < 0 %}
        {{ p1 }} - {{ p2 }} - sqrt(
            pow({{ p1 }} - {{ wilson_bound(s1, n1, -1, z) }}, 2) + pow({{ wilson_bound(s2, n2, 1, z) }} - {{ p2 }}, 2)
        )
        {%- else %}
        {{ p1 }} - {{ p2 }} + sqrt(
            pow({{ wilson_bound(s1, n1, 1, z) }} - {{ p1 }}, 2) + pow({{ p2 }} - {{ wilson_bound(s2, n2, -1, z) }}, 2)
        )
        {%- endif %}
    end)
{%- endmacro %}
