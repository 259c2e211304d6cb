{#-
    Manual baseline engagements: the `baselines` seed plus, when it exists, the CSV file named by
    AGENTLEDGER_BASELINES_FILE (default $AGENTLEDGER_HOME/baselines.csv) with the same columns. The
    file is looked for when the model runs (DuckDB's glob), so a missing file means "none".
-#}

{%- set baselines_file = env_var('AGENTLEDGER_BASELINES_FILE', env_var('AGENTLEDGER_HOME', 'data') ~ '/baselines.csv') -%}
{%- set file_exists = false -%}
{%- if execute -%}
    {%- set found = run_query("select count(*) from glob('" ~ baselines_file | replace("'", "''") ~ "')") -%}
    {%- set file_exists = found.columns[0].values()[0] > 0 -%}
{%- endif %}

with

seeded as (

    select
        account_id,
        workflow,
        engagement_date,
        strategist_hours,
        hourly_rate_usd,
        'seed' as _source,
        'seeds/baselines.csv' as _source_file
    from {{ ref('baselines') }}

),

{% if file_exists %}
    from_file as (

        select
            account_id,
            workflow,
            engagement_date,
            strategist_hours,
            hourly_rate_usd,
            'file' as _source,
            '{{ baselines_file | replace("'", "''") }}' as _source_file
        from read_csv(
            '{{ baselines_file | replace("'", "''") }}',
            header = true,
            columns = {
                'account_id': 'varchar',
                'workflow': 'varchar',
                'engagement_date': 'date',
                'strategist_hours': 'decimal(18, 4)',
                'hourly_rate_usd': 'decimal(18, 4)'
            }
        )

    ),
{% endif %}

unioned as (

    select * from seeded
    {% if file_exists %}
        union all
        select * from from_file
    {% endif %}

),

final as (

    select
        -- ids: one engagement per row, numbered among identical rows. The hash names the seed or
        -- the file, not the file's path, so the ids stay when the home folder moves.
        md5(concat_ws('|', account_id, workflow, engagement_date, strategist_hours, hourly_rate_usd, _source))
        || '-' || row_number() over (
            partition by account_id, workflow, engagement_date, strategist_hours, hourly_rate_usd, _source
        ) as engagement_id,
        account_id,
        workflow,

        -- time: a day; the engagement counts from the start of it
        engagement_date,
        cast(engagement_date as timestamp) as engaged_at,
        cast(date_trunc('quarter', engagement_date) as date) as quarter_start,

        -- cost
        strategist_hours,
        hourly_rate_usd,
        {{ money('strategist_hours * hourly_rate_usd') }} as cost_usd,

        -- lineage
        _source_file

    from unioned

)

select * from final
