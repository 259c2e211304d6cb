{{ config(materialized='table', schema='semantic') }}

{#-
    MetricFlow's day time spine (dbt semantic layer): one row per UTC day. It spans 2020–2035, wider
    than any run history here; MetricFlow joins to it for time grains and windows.
-#}

with

days as (

    select cast(range as date) as date_day
    from range(date '2020-01-01', date '2036-01-01', interval 1 day)

),

final as (

    select date_day
    from days

)

select * from final
