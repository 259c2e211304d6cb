{{
    config(
        schema='intermediate',
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_window('run_date') }}",
    )
}}

{#-
    The runs of each day by workflow and route (the set of models a run's calls used, as
    mart_routing_recommendations names it): what the routing mart sums over its trailing window,
    so a night reads a few rows a day instead of every call of the window.

    Incremental: the days int_runs_rolled_up rewrites (the window and the lookback) are
    recomputed from their runs and those runs' calls (read `lookback_days` wider, as the runs' rollup
    reads them: a run's calls start within that of it); other days' rows stay.
-#}

with

runs as (

    select * from {{ ref('int_runs_rolled_up') }}
    {% if is_incremental() %}
        where {{ in_window('run_date') }}
    {% endif %}

),

calls as (

    select * from {{ ref('int_llm_calls_priced') }}
    where model is not null
    {% if is_incremental() %}
        and {{ in_window('started_at', pad_days=run_pad_days()) }}
    {% endif %}

),

run_routes as (

    select
        run_id,
        string_agg(distinct {{ model_name() }}, ' + ' order by {{ model_name() }}) as route,
        count(distinct {{ model_name() }}) as route_models
    from calls
    group by run_id

),

final as (

    -- runs without a model call have no route (NULL): counted for the workflow, never a candidate
    select
        runs.run_date,
        runs.workflow,
        run_routes.route,
        run_routes.route_models,
        count(*) as runs,
        count(*) filter (where runs.outcome <> 'unlabeled') as labeled_runs,
        count(*) filter (where runs.outcome = 'success') as successful_runs,
        -- labeled ones only: CPST and saving are taken over labeled runs, so an unlabeled run with
        -- an unpriced call leaves its route's CPST known
        count(*) filter (where runs.outcome <> 'unlabeled' and not runs.fully_priced) as unpriced_runs,
        {{ money("coalesce(sum(runs.cost_usd) filter (where runs.outcome <> 'unlabeled'), 0)") }}
            as labeled_cost_usd
    from runs
    left join run_routes on runs.run_id = run_routes.run_id
    group by runs.run_date, runs.workflow, run_routes.route, run_routes.route_models

)

select * from final
