{{ config(meta={"dagster": {"ref": {"name": "int_deals_attributed_to_runs"}}}) }}

-- A won deal closed in the window with a successful run of its account in the attribution window
-- before its close has credit rows: the credit check (assert_deal_credits_sum_to_the_deal_amount)
-- compares only deals that have rows, so a deal the incremental attribution missed would escape it
-- and its revenue would reach no workflow. The same joins as int_deals_attributed_to_runs, over the
-- deals of the window and the runs that can precede them: a night's check costs a night's deals.
with

deals as (

    select deal_key, crm_system, crm_account_id, closed_at, amount_usd
    from {{ ref('int_crm_deals') }}
    where is_won_revenue and {{ in_window('closed_at') }}

),

runs as (

    select run_id, account_id, started_at
    from {{ ref('int_runs_rolled_up') }}
    where
        outcome = 'success'
        and account_id is not null
        and {{ in_window('started_at', pad_days=var('attribution_window_days')) }}

),

deals_with_eligible_runs as (

    select
        deals.deal_key,
        deals.closed_at,
        deals.amount_usd,
        count(*) as eligible_runs
    from deals
    inner join {{ ref('int_crm_account_keys') }} as account_keys
        on
            deals.crm_system = account_keys.crm_system
            and deals.crm_account_id = account_keys.crm_account_id
    inner join runs
        on
            account_keys.account_id = runs.account_id
            and {{ in_attribution_window('deals.closed_at', 'runs.started_at') }}
    group by deals.deal_key, deals.closed_at, deals.amount_usd

)

select
    deal_key,
    closed_at,
    amount_usd,
    eligible_runs,
    'won deal with ' || eligible_runs || ' eligible run(s) has no credits' as failure
from deals_with_eligible_runs
where not exists (
    select 1 from {{ ref('int_deals_attributed_to_runs') }} as credits
    where credits.deal_key = deals_with_eligible_runs.deal_key
)
