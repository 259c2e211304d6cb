{{ config(severity='warn', meta={"dagster": {"ref": {"name": "int_runs_rolled_up"}}}) }}

-- Labels of the window naming a run the warehouse holds no row of: its spans are missing (lost in
-- a quarantined trace line, not exported yet, or from before the warehouse's first day) or the run
-- id is mistyped. Such a label decides nothing. A warning, not a failure: the label stays in
-- raw.labels_reviews and decides its run on the night the run's spans load, so re-run that day.
with

labels as (

    select run_id, outcome, labeled_at, _source_file, _line_number
    from {{ ref('stg_labels__reviews') }}
    where {{ in_window('labeled_at', upper=false) }}

),

runs as (

    select run_id from {{ ref('int_runs_rolled_up') }}
    where run_id in (select labels.run_id from labels)

)

select
    labels.run_id,
    labels.outcome,
    labels.labeled_at,
    labels._source_file,
    labels._line_number
from labels
where not exists (select 1 from runs where runs.run_id = labels.run_id)
