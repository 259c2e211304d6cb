with

labels as (

    select * from {{ source('labels', 'labels_reviews') }}

),

renamed as (

    select
        -- ids
        run_id,
        retry_of_run_id,

        -- verdict
        outcome,
        reviewer,
        rework_minutes,
        coalesce(escalated, false) as is_escalated,

        -- time
        labeled_at,

        -- lineage
        _partition_date,
        _source_file,
        _line_number

    from labels

)

select * from renamed
