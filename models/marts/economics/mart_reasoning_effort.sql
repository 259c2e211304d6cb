{#-
    Is high reasoning effort worth its price? One row per workflow × effort tier, over all runs.

    Each tier is compared with the same workflow's `medium` runs: the cost multiple is the mean run
    cost over medium's mean run cost, the CPST multiple the same for cost per successful task, and
    the quality lift the success rate minus medium's (rate points, −1…1). The lift's 95% interval is
    Newcombe's hybrid score interval for a difference of independent proportions (macros/
    proportions.sql says why not Wald); `lift_is_significant` says whether it excludes 0. Runs with
    no effort recorded are left out; a workflow without medium runs has no comparison.

    A call without a price counts in no cost (DESIGN §4: never as 0 dollars), so a tier with such
    runs has costs that are lower bounds (`unpriced_runs`), and no multiple: a new model missing
    from the price book would otherwise make its tier look free.
-#}

with

runs as (

    select * from {{ ref('int_runs_rolled_up') }}
    where reasoning_effort is not null

),

tiers as (

    select
        workflow,
        reasoning_effort,
        count(*) as runs,
        count(*) filter (where outcome <> 'unlabeled') as labeled_runs,
        count(*) filter (where outcome = 'success') as successful_runs,
        count(*) filter (where not fully_priced) as unpriced_runs,
        {{ money('sum(cost_usd)') }} as total_cost_usd,
        {{ money("coalesce(sum(cost_usd) filter (where outcome <> 'unlabeled'), 0)") }} as labeled_cost_usd,
        sum(reasoning_tokens) as reasoning_tokens
    from runs
    group by workflow, reasoning_effort

),

compared as (

    select
        tiers.*,
        medium.runs as medium_runs,
        medium.labeled_runs as medium_labeled_runs,
        medium.successful_runs as medium_successful_runs,
        medium.unpriced_runs as medium_unpriced_runs,
        medium.total_cost_usd as medium_total_cost_usd,
        medium.labeled_cost_usd as medium_labeled_cost_usd,
        {{ divide_exact('tiers.successful_runs', 'tiers.labeled_runs') }} as success_rate,
        {{ divide_exact('medium.successful_runs', 'medium.labeled_runs') }} as medium_success_rate
    from tiers
    left join tiers as medium
        on tiers.workflow = medium.workflow and medium.reasoning_effort = 'medium'

),

measured as (

    select
        -- grain
        workflow,
        reasoning_effort,

        -- this tier
        runs,
        labeled_runs,
        successful_runs,
        unpriced_runs,
        success_rate,
        total_cost_usd,
        {{ divide_exact('total_cost_usd', 'runs') }} as mean_run_cost_usd,
        {{ divide_exact('labeled_cost_usd', 'successful_runs') }} as cost_per_successful_task_usd,
        {{ divide_exact('reasoning_tokens', 'runs') }} as mean_reasoning_tokens,

        -- against medium
        medium_labeled_runs,
        medium_success_rate,
        -- (cost / runs) ÷ (medium cost / medium runs), exactly; a ratio of lower bounds bounds nothing
        case when unpriced_runs = 0 and medium_unpriced_runs = 0 then {{ divide_exact(
            'total_cost_usd * medium_runs', 'medium_total_cost_usd * runs'
        ) }} end as cost_multiple_vs_medium,
        -- a tier without successes has no CPST, so no multiple (not 0 when medium has none)
        case
            when successful_runs > 0 and medium_successful_runs > 0 and unpriced_runs = 0 and medium_unpriced_runs = 0
                then {{ divide_exact('labeled_cost_usd * medium_successful_runs', 'medium_labeled_cost_usd * successful_runs') }}
        end as cpst_multiple_vs_medium,
        {{ money('success_rate - medium_success_rate') }} as quality_lift_vs_medium,
        -- medium against itself has no interval
        case when reasoning_effort <> 'medium' then {{ money('round(' ~ newcombe_difference_bound(
            'successful_runs', 'labeled_runs', 'medium_successful_runs', 'medium_labeled_runs', -1
        ) ~ ', 10)') }} end as quality_lift_ci_low,
        case when reasoning_effort <> 'medium' then {{ money('round(' ~ newcombe_difference_bound(
            'successful_runs', 'labeled_runs', 'medium_successful_runs', 'medium_labeled_runs', 1
        ) ~ ', 10)') }} end as quality_lift_ci_high

    from compared

),

final as (

    select
        *,
        case
            when quality_lift_ci_low is not null then quality_lift_ci_low > 0 or quality_lift_ci_high < 0
        end as lift_is_significant
    from measured

)

select * from final
