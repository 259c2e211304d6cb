{#-
    Helpers of the anomaly findings (models/marts/anomalies/).

    Every detection evaluates a condition on each day of the run's window, plus `lookback_days`
    (labels arrive late and can change a day's verdict) and `anomaly_cooldown_days` before that
    (a finding that lasts is new only on its first day after the cooldown of silence, and the
    mart must see those earlier days to know), and on every day after the window already built
    (their trailing windows hold the window's days, so a past day run again re-judges them; the
    nightly of the latest day has none). A detection reads just the days it evaluates and the
    trailing history its statistic needs: a nightly run reads a bounded window, never all
    history. Without a window (a hand `dbt build`) every day is evaluated.
-#}


{#- The first day whose condition a run evaluates (datetime), or none without a window.
    A finding type that explains another (mart_cost_anomalies' `precedence`) evaluates
    `cooldowns=2`: the mart looks for it over the cooldown before each day it might explain. -#}
{% macro anomaly_evaluation_start(cooldowns=1) -%}
    {%- set start = window_start(lookback=true) -%}
    {%- if start is none -%}{{ return(none) }}{%- endif -%}
    {{ return(start - modules.datetime.timedelta(days=cooldowns * (var('anomaly_cooldown_days') | int))) }}
{%- endmacro %}


{#- SQL predicate: `column` lies in the evaluated days (from the first on, later days included),
    widened by `history_days` of trailing history before the first one. -#}
{% macro anomaly_window(column, history_days=0, cooldowns=1) -%}
    {%- set start = anomaly_evaluation_start(cooldowns) -%}
    {%- if start is none or window_end() is none -%}
        true
    {%- else -%}
        {%- set first = start - modules.datetime.timedelta(days=history_days | int) -%}
        {#- no upper bound: the days after the window that are already built judge trailing windows
            that hold the window, so a past day run again evaluates them again too (for the nightly of
            the latest day there are none) -#}
        ({{ column }} >= timestamp '{{ first.isoformat(sep=" ") }}')
    {%- endif -%}
{%- endmacro %}


{#-
    Theil–Sen slope of `y` over `x` per group, with Sen's distribution-free confidence bound.

    `points` is a relation with the `keys` columns, an integer `x` (distinct within a group) and a
    numeric `y`. Returns one row per group: `n_points`, `slope` (the median of the pairwise slopes),
    `slope_lower` (the lower end of the two-sided interval whose ranks are (N ∓ z·√Var S) / 2 among
    the N sorted pairwise slopes, Var S = n(n−1)(2n+5)/18 from Kendall's S; NULL when too few
    points make that rank < 1) and `intercept` (the median of y − slope·x, the line at x = 0).
    A few wild points move neither the slope nor its bound: one loop cannot make a trend.
-#}
{% macro theil_sen(points, keys, z) -%}
    select
        {% for key in keys %}slopes.{{ key }},{% endfor %}
        slopes.n_points,
        slopes.slope,
        slopes.slope_lower,
        median(cast(points.y as double) - slopes.slope * points.x) as intercept
    from (
        select
            {% for key in keys %}pairs.{{ key }},{% endfor %}
            any_value(counts.n_points) as n_points,
            median(pairs.pair_slope) as slope,
            list_sort(list(pairs.pair_slope))[
                nullif(greatest(cast(floor(
                    (count(*) - {{ z }} * sqrt(
                        any_value(counts.n_points) * (any_value(counts.n_points) - 1)
                        * (2 * any_value(counts.n_points) + 5) / 18.0
                    )) / 2
                ) as bigint), 0), 0)
            ] as slope_lower
        from (
            select
                {% for key in keys %}earlier.{{ key }},{% endfor %}
                (cast(later.y as double) - cast(earlier.y as double)) / (later.x - earlier.x) as pair_slope
            from {{ points }} as earlier
            inner join {{ points }} as later
                on
                    {% for key in keys %}earlier.{{ key }} = later.{{ key }} and {% endfor %}earlier.x < later.x
        ) as pairs
        inner join (
            select
                {% for key in keys %}{{ key }},{% endfor %}
                count(*) as n_points
            from {{ points }}
            group by all
        ) as counts
            on {% for key in keys %}pairs.{{ key }} = counts.{{ key }}{{ " and " if not loop.last }}{% endfor %}
        group by all
    ) as slopes
    inner join {{ points }} as points
        on {% for key in keys %}slopes.{{ key }} = points.{{ key }}{{ " and " if not loop.last }}{% endfor %}
    group by all
{%- endmacro %}


{#- Upper confidence bound of p_a − p_b, two success proportions (Agresti–Caffo: one success and
    one failure added to each group, so tiny or all-success samples get an honest width). -#}
{% macro success_lift_upper(successes_a, runs_a, successes_b, runs_b, z) -%}
    (
        ({{ successes_a }} + 1.0) / ({{ runs_a }} + 2.0) - ({{ successes_b }} + 1.0) / ({{ runs_b }} + 2.0)
        + {{ z }} * sqrt(
            ({{ successes_a }} + 1.0) / ({{ runs_a }} + 2.0)
            * (1 - ({{ successes_a }} + 1.0) / ({{ runs_a }} + 2.0)) / ({{ runs_a }} + 2.0)
            + ({{ successes_b }} + 1.0) / ({{ runs_b }} + 2.0)
            * (1 - ({{ successes_b }} + 1.0) / ({{ runs_b }} + 2.0)) / ({{ runs_b }} + 2.0)
        )
    )
{%- endmacro %}



{#- The columns every finding model yields, in the order the mart unions them. -#}
{% macro finding_columns() -%}
    anomaly_type,
    category,
    workflow,
    run_id,
    subject,
    detected_on,
    evidence_start_date,
    is_episode,
    severity,
    measure,
    observed,
    expected,
    explanation
{%- endmacro %}


{#- Text helpers for explanations: USD with cents (4 places under $0.10), grouped integers, a percentage. -#}
{% macro fmt_usd(amount) -%}
    ('$' || case
        when abs({{ amount }}) < 0.1 then format('{:.4f}', cast({{ amount }} as double))
        else format('{:,.2f}', cast({{ amount }} as double))
    end)
{%- endmacro %}

{% macro fmt_int(value) -%}
    format('{:,.0f}', cast({{ value }} as double))
{%- endmacro %}

{% macro fmt_pct(share, places=1) -%}
    (format('{:.{{ places }}f}', 100 * cast({{ share }} as double)) || '%')
{%- endmacro %}


{#- Pre-hook of a finding model (incremental: its table keeps every day a condition held): drop
    the days this run evaluates before they are inserted again. -#}
{% macro delete_evaluated_days(cooldowns=1) -%}
    {%- if is_incremental() -%}
        {%- do sync_columns_before_delete() -%}
        delete from {{ this }} where {{ anomaly_window('detected_on', cooldowns=cooldowns) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{#- The days a finding model evaluates for each workflow: those of `relation` in the evaluated
    range (see anomaly_window; `cooldowns=2` for a cause of another finding). -#}
{% macro evaluation_days(relation, date_column, cooldowns=1) -%}
    select distinct
        workflow,
        cast({{ date_column }} as date) as evaluated_on
    from {{ relation }}
    where {{ anomaly_window(date_column, cooldowns=cooldowns) }}
{%- endmacro %}


{#- The leading finding columns of a lasting condition of one workflow on `evaluated_on`
    (arguments are SQL expressions). -#}
{% macro workflow_episode(anomaly_type, category, evidence_start) -%}
    {{ anomaly_type }} as anomaly_type,
    {{ category }} as category,
    workflow,
    cast(null as varchar) as run_id,
    cast(null as varchar) as subject,
    evaluated_on as detected_on,
    {{ evidence_start }} as evidence_start_date,
    true as is_episode
{%- endmacro %}


{#- A Theil–Sen trend's level at the window's first and last day and its growth over the window,
    at the estimate and at the slope's lower confidence bound, for trends with `min_points`. -#}
{% macro trend_growth(trends, window_days, min_points) -%}
    select
        *,
        intercept as start_level,
        intercept + slope * {{ window_days - 1 }} as end_level,
        slope * {{ window_days - 1 }} / intercept as growth,
        slope_lower * {{ window_days - 1 }} / intercept as growth_lower
    from {{ trends }}
    where n_points >= {{ min_points }} and intercept > 0
{%- endmacro %}


{#- Success rates of a `treated` and a `baseline` group (columns <group>_runs, <group>_successes,
    <group>_median_cost_usd), the upper confidence bound of the treated group's lift, and its
    cost multiple: the select list of an outcome comparison. -#}
{% macro compare_outcomes(treated, baseline) -%}
    {{ treated }}_successes / {{ treated }}_runs as {{ treated }}_success_rate,
    {{ baseline }}_successes / {{ baseline }}_runs as {{ baseline }}_success_rate,
    {{ success_lift_upper(treated ~ '_successes', treated ~ '_runs', baseline ~ '_successes', baseline ~ '_runs',
        var('anomaly_confidence_z')) }} as lift_upper,
    cast({{ treated }}_median_cost_usd as double) / nullif(cast({{ baseline }}_median_cost_usd as double), 0)
        as cost_multiple
{%- endmacro %}
