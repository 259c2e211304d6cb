{#-
    Distribution-free 95% confidence interval of a median by order statistics.

    For n sorted values, [x_(j), x_(n-j+1)] covers the median with probability
    1 - 2·P(B <= j-1), B ~ Binomial(n, 1/2). j is the largest rank with P(B <= j-1) <= alpha/2, so
    the coverage is at least 1 - alpha. Below n = 6 no such j exists at alpha = 0.05 (n = 5 reaches
    only 93.75%), and the interval is NULL.

    `sizes_relation` is a relation with one column `n` (distinct sample sizes). Returns one row per
    n: `n, lower_rank, upper_rank` (1-based ranks into the sorted sample; NULL when undefined).
    The binomial CDF is summed exactly in log space per n: O(n) work per distinct n.
-#}
{% macro median_ci_ranks(sizes_relation, alpha=0.05) -%}
    select
        n,
        case when count(k) filter (where cdf <= {{ alpha / 2 }}) > 0
            then count(k) filter (where cdf <= {{ alpha / 2 }}) end as lower_rank,
        case when count(k) filter (where cdf <= {{ alpha / 2 }}) > 0
            then n - count(k) filter (where cdf <= {{ alpha / 2 }}) + 1 end as upper_rank
    from (
        select
            n,
            k,
            sum(exp(lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1) - n * ln(2)))
                over (partition by n order by k rows between unbounded preceding and current row) as cdf
        from (
            select n, unnest(range(0, n // 2 + 1)) as k
            from (select distinct n from {{ sizes_relation }} where n > 0)
        )
    )
    group by n
{%- endmacro %}


{#- The median of a sorted, non-NULL list of DECIMALs, exact: the middle value, or the mean of the two
    middle values by divide_exact (DuckDB's median interpolates those in DOUBLE, off in the last
    places of a DECIMAL(38,10)). NULL for an empty list. -#}
{% macro exact_median(sorted) -%}
    (case
        when len({{ sorted }}) = 0 then null
        when len({{ sorted }}) % 2 = 1 then {{ money(sorted ~ '[(len(' ~ sorted ~ ') + 1) // 2]') }}
        else {{ divide_exact(
            sorted ~ '[len(' ~ sorted ~ ') // 2] + ' ~ sorted ~ '[len(' ~ sorted ~ ') // 2 + 1]', '2'
        ) }}
    end)
{%- endmacro %}
