{#-
    Which model, or tiered combination of models, each workflow should route to: one row per workflow.

    A run's route is the set of models its calls used (price book ids, alphabetical, joined by
    " + "): "claude-haiku-4-5 + claude-opus-4-5 + claude-sonnet-4-5" is a tiered review, cheap
    model on every file, mid and top models on the few that need them. Routes are compared over the
    last `routing_window_days` days of data (ending at the latest run of any workflow). A route
    counts when it has at least `routing_min_labeled_runs` labeled runs, at least one success and
    every labeled run fully priced (a route with a labeled run's unpriced call has an unknown CPST:
    it can neither win nor set the bar); among those, the routes whose success rate is within
    `routing_success_tolerance` of the best are candidates and the one with the lowest CPST is
    recommended. Under the minimum sample there is no recommendation.

    The saving is what the workflow's successes in the window would have cost at the recommended
    route's CPST, subtracted from what its labeled runs did cost (negative when the recommendation
    buys quality the cheaper current mix lacks); the monthly saving scales it to 30 days of the
    workflow's runs in the window.

    Reads the runs summed by day, workflow and route (int_routes_daily, incremental): a night sums
    a few rows per day of the window instead of re-reading every run and call in it.
-#}

with

routes_daily as (

    select * from {{ ref('int_routes_daily') }}

),

window_bounds as (

    select
        max(run_date) - {{ var('routing_window_days') | int - 1 }} as window_start,
        max(run_date) as window_end
    from routes_daily

),

windowed_routes as (

    select
        routes_daily.*,
        window_bounds.window_start,
        window_bounds.window_end
    from routes_daily
    cross join window_bounds
    where routes_daily.run_date between window_bounds.window_start and window_bounds.window_end

),

route_stats as (

    -- runs without a model call have no route and are no candidate
    select
        workflow,
        route,
        any_value(route_models) as route_models,
        cast(sum(runs) as bigint) as runs,
        cast(sum(labeled_runs) as bigint) as labeled_runs,
        cast(sum(successful_runs) as bigint) as successful_runs,
        cast(sum(unpriced_runs) as bigint) as unpriced_runs,
        {{ money('sum(labeled_cost_usd)') }} as labeled_cost_usd,
        {{ divide_exact('sum(successful_runs)', 'sum(labeled_runs)') }} as success_rate,
        {{ divide_exact('sum(labeled_cost_usd)', 'sum(successful_runs)') }} as cost_per_successful_task_usd
    from windowed_routes
    where route is not null
    group by workflow, route

),

sampled_routes as (

    select *
    from route_stats
    where labeled_runs >= {{ var('routing_min_labeled_runs') }}

),

priced_routes as (

    -- a route with an unpriced run has an unknown CPST: it can neither be recommended nor set the bar
    select
        *,
        max(success_rate) over (partition by workflow) as best_success_rate
    from sampled_routes
    where unpriced_runs = 0 and successful_runs > 0

),

recommended as (

    select *
    from priced_routes
    where success_rate >= best_success_rate - {{ var('routing_success_tolerance') }}
    qualify row_number() over (
        partition by workflow order by cost_per_successful_task_usd asc, labeled_runs desc, route asc
    ) = 1

),

best_rates as (

    select
        sampled_routes.workflow,
        count(*) as sampled_routes,
        max(priced_routes.best_success_rate) as best_success_rate
    from sampled_routes
    left join priced_routes
        on sampled_routes.workflow = priced_routes.workflow and sampled_routes.route = priced_routes.route
    group by sampled_routes.workflow

),

current_routes as (

    -- the route most of the window's runs took
    select *
    from route_stats
    qualify row_number() over (partition by workflow order by runs desc, route asc) = 1

),

workflow_stats as (

    select
        workflow,
        any_value(window_start) as window_start,
        any_value(window_end) as window_end,
        min(run_date) as first_run_date,
        cast(sum(runs) as bigint) as runs,
        cast(sum(labeled_runs) as bigint) as labeled_runs,
        cast(sum(successful_runs) as bigint) as successful_runs,
        cast(sum(unpriced_runs) as bigint) as unpriced_runs,
        count(distinct route) as routes_seen,
        {{ money('sum(labeled_cost_usd)') }} as labeled_cost_usd
    from windowed_routes
    group by workflow

),

compared as (

    select
        workflow_stats.*,
        datediff('day', workflow_stats.first_run_date, workflow_stats.window_end) + 1 as observed_days,
        best_rates.best_success_rate,
        coalesce(best_rates.sampled_routes, 0) as sampled_routes,
        current_routes.route as current_route,
        current_routes.success_rate as current_route_success_rate,
        current_routes.cost_per_successful_task_usd as current_route_cost_per_successful_task_usd,
        recommended.route as recommended_route,
        recommended.route_models as recommended_route_models,
        recommended.labeled_runs as recommended_labeled_runs,
        recommended.successful_runs as recommended_successful_runs,
        recommended.success_rate as recommended_success_rate,
        recommended.cost_per_successful_task_usd as recommended_cost_per_successful_task_usd,
        -- saving × recommended successes: labeled cost − successes × (recommended cost ÷ its successes)
        -- is divided once, so the window and monthly savings are each one exact rounding
        workflow_stats.labeled_cost_usd * recommended.successful_runs
        - recommended.labeled_cost_usd * workflow_stats.successful_runs as saving_times_successes_usd
    from workflow_stats
    left join best_rates on workflow_stats.workflow = best_rates.workflow
    left join current_routes on workflow_stats.workflow = current_routes.workflow
    left join recommended on workflow_stats.workflow = recommended.workflow

),

final as (

    select
        -- grain
        workflow,

        -- the window
        window_start,
        window_end,
        observed_days,
        runs,
        labeled_runs,
        successful_runs,
        unpriced_runs,
        {{ divide_exact('successful_runs', 'labeled_runs') }} as success_rate,
        {{ divide_exact('labeled_cost_usd', 'successful_runs') }} as cost_per_successful_task_usd,
        routes_seen,
        sampled_routes,
        best_success_rate,

        -- what runs now
        current_route,
        current_route_success_rate,
        current_route_cost_per_successful_task_usd,

        -- the recommendation
        case
            when sampled_routes = 0 then 'insufficient_sample'
            when recommended_route is null then 'no_priced_route'
            when recommended_route = current_route then 'keep_current'
            else 'switch'
        end as recommendation,
        recommended_route,
        recommended_route_models,
        recommended_labeled_runs,
        recommended_successful_runs,
        recommended_success_rate,
        recommended_cost_per_successful_task_usd,
        {{ divide_exact('saving_times_successes_usd', 'recommended_successful_runs') }} as window_saving_usd,
        {{ divide_exact('saving_times_successes_usd * 30', 'recommended_successful_runs * observed_days') }}
            as monthly_saving_usd

    from compared

)

select * from final
