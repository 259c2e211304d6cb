{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_incremental_rows(in_window('detected_on', upper=false) ~ \" or anomaly_type = 'untraced_spend'\") }}",
    )
}}

{#-
    Published. One row per finding: the cost anomalies and cost-bloat patterns of DESIGN §4 and the
    optimization triggers, each with the numbers a person needs to act (`explanation`).

    Each finding type is one model yielding `finding_columns()` for every evaluated day its
    condition holds (kept incrementally: its table is the history of the condition). Here they are
    unioned, and:
    - a cost rise that a more specific cause explains (the cause held for the workflow on that day
      or in the cooldown before it) is reported as that cause only (`precedence`);
    - a lasting condition (an episode) is a new finding only on a day when its type was silent for
      the workflow on the `anomaly_cooldown_days` before (days a cause explained count as days it
      held), so it is reported (and alerted) once, on the day it started, not every day it lasts;
      events (a looping run, a dispersed day) are each their own finding;
    - every finding gets a stable `finding_id`, by which alerts remember what they sent.
    Incremental: a run replaces the findings detected in its window (plus `lookback_days`), reading
    the conditions of two cooldowns before it; the finding models evaluate those days too, so the
    result does not depend on how the days were split into runs.

    Adding a finding type is one model and one line in `finding_models`. A finding about no one
    workflow names what it is about in `subject` (untraced_spend: the provider, workflow NULL); a
    finding's identity is its type, workflow, run, subject and day.
-#}

{%- set finding_models = [
    'int_anomalies__loop_spike',
    'int_anomalies__context_bloat',
    'int_anomalies__inconsistent',
    'int_anomalies__cost_up',
    'int_anomalies__high_effort',
    'int_anomalies__cache_unused',
    'int_anomalies__oversized',
    'int_anomalies__untraced',
    'int_anomalies__health_targets',
    'int_anomalies__cpst_rising',
] %}

with

conditions as (

    -- two cooldowns before the window are enough: one to see whether a type was silent before a
    -- day, one more for the causes that may explain the days of that first cooldown
    {% for model in finding_models -%}
        select
            {{ finding_columns() }}
        from {{ ref(model) }}
        -- untraced_spend: every provider-day (a bill is restated arbitrarily far back)
        where {{ 'true' if model == 'int_anomalies__untraced' else anomaly_window('detected_on', cooldowns=2) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

precedence as (

    -- a finding, and a more specific cause that explains it; a cause model evaluates cooldowns=2
    select
        'cost_up_outcomes_flat' as anomaly_type,
        'context_bloat' as explained_by
    union all
    select
        'cost_up_outcomes_flat' as anomaly_type,
        'high_effort_low_value' as explained_by

),

explained as (

    select distinct
        conditions.anomaly_type,
        conditions.workflow,
        conditions.detected_on
    from conditions
    inner join precedence
        on conditions.anomaly_type = precedence.anomaly_type
    inner join conditions as causes
        on
            precedence.explained_by = causes.anomaly_type
            and conditions.workflow = causes.workflow
            and causes.detected_on between conditions.detected_on - {{ var('anomaly_cooldown_days') }}
            and conditions.detected_on

),

onsets as (

    -- the day before which a condition last held, explained or not: days a cause explains are days
    -- the condition held, so a rise that outlasts its cause's explanation is the same episode
    select
        conditions.*,
        explained.anomaly_type is not null as is_explained,
        lag(conditions.detected_on) over (
            partition by conditions.anomaly_type, conditions.workflow, conditions.run_id, conditions.subject
            order by conditions.detected_on
        ) as previous_detected_on
    from conditions
    left join explained
        on
            conditions.anomaly_type = explained.anomaly_type
            and conditions.workflow is not distinct from explained.workflow
            and conditions.detected_on = explained.detected_on

),

new_findings as (

    select * exclude (is_explained) from onsets
    where
        not is_explained
        and (
            not is_episode
            or previous_detected_on is null
            or detected_on - previous_detected_on > {{ var('anomaly_cooldown_days') }}
        )

),

final as (

    select
        -- ids
        'f_' || left(md5(
            concat_ws('|', anomaly_type, coalesce(workflow, ''), coalesce(run_id, ''), detected_on)
            || coalesce('|' || subject, '')
        ), 16) as finding_id,
        detected_on,
        anomaly_type,
        category,
        workflow,
        run_id,
        subject,
        -- a lasting condition (one finding per episode, alerted once) or an event
        is_episode,

        -- the finding
        severity,
        measure,
        observed,
        expected,
        explanation,
        evidence_start_date

    from new_findings
    where {{ in_window('detected_on', upper=false) }} or anomaly_type = 'untraced_spend'

)

select * from final
