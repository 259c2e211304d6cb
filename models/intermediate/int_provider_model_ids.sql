-- The price book's model id of every model a provider names in its usage or cost reports, found by
-- genai-prices' own matching rules (seeds/model_match_rules.csv) as int_llm_calls_priced finds it
-- for traced calls: the provider's rules first, then its fallback providers'; the reference as
-- reported, then with a compact date dashed. Reports name dated snapshots (`claude-sonnet-4-5-20250929`,
-- `gpt-4.1-2025-04-14`), traces often the alias: both land on the same id (`claude-sonnet-4-5`).

with

usage_models as (

    {{ union_provider_models(
        'provider_usage_models',
        'select cast(null as varchar) as provider, cast(null as varchar) as model where false'
    ) }}

),

cost_models as (

    {{ union_provider_models(
        'provider_cost_models',
        'select cast(null as varchar) as provider, cast(null as varchar) as model where false'
    ) }}

),

match_rules as (

    select * from {{ ref('model_match_rules') }}

),

reported as (

    select distinct
        provider,
        model,
        lower(trim(provider)) as provider_ref,
        lower(model) as model_ref
    from (
        select
            provider,
            model
        from usage_models
        union all
        select
            provider,
            model
        from cost_models
    ) as named
    where model is not null

),

model_ref_parts as (

    select
        model_ref,
        unnest(string_split(model_ref, '-')) as part,
        generate_subscripts(string_split(model_ref, '-'), 1) as part_no
    from (select distinct model_ref from reported) as refs

),

dashed_refs as (

    select
        model_ref,
        string_agg({{ dashed_compact_date('part', 'part_no') }}, '-' order by part_no) as model_ref_dashed
    from model_ref_parts
    group by model_ref

),

searched_providers as (

    -- the provider's own models first, then those of its fallback providers in order
    select
        reported.provider,
        reported.model,
        reported.model_ref,
        dashed_refs.model_ref_dashed,
        reported.provider_ref as searched_provider_id,
        0 as fallback_rank
    from reported
    inner join dashed_refs on reported.model_ref = dashed_refs.model_ref

    union all

    select
        reported.provider,
        reported.model,
        reported.model_ref,
        dashed_refs.model_ref_dashed,
        match_rules.fallback_provider_id as searched_provider_id,
        match_rules.match_order as fallback_rank
    from reported
    inner join dashed_refs on reported.model_ref = dashed_refs.model_ref
    inner join match_rules
        on
            match_rules.rule_scope = 'fallback'
            and reported.provider_ref = match_rules.lookup_provider_id

),

attempts as (

    select
        *,
        1 as attempt,
        model_ref as searched_ref
    from searched_providers

    union all

    select
        *,
        2 as attempt,
        model_ref_dashed as searched_ref
    from searched_providers
    where model_ref_dashed != model_ref

),

rule_hits as (

    select
        attempts.provider,
        attempts.model,
        attempts.fallback_rank,
        attempts.attempt,
        match_rules.match_order,
        match_rules.model_id,
        match_rules.rule_no,
        bool_and(
            {{ match_clause('match_rules.clause_kind', 'match_rules.clause_value', 'attempts.searched_ref') }}
        ) as is_match
    from attempts
    inner join match_rules
        on
            match_rules.rule_scope = 'model'
            and attempts.searched_provider_id = match_rules.lookup_provider_id
    group by all

),

matched as (

    select
        provider,
        model,
        model_id as price_model_id
    from rule_hits
    where is_match
    qualify row_number() over (
        partition by provider, model
        order by attempt asc, fallback_rank asc, match_order asc
    ) = 1

),

final as (

    select
        reported.provider,
        reported.model,
        matched.price_model_id,
        -- the key both sides of the reconciliation meet on: the price book's id, else the name as reported
        coalesce(matched.price_model_id, reported.model_ref) as reconciliation_model
    from reported
    left join matched
        on
            reported.provider = matched.provider
            and reported.model = matched.model

)

select * from final
