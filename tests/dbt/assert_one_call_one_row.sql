-- The same LLM call exported by two libraries shares gen_ai.response.id in its trace: one row only.
-- Checked over the run's window and its lookback (every row when there is no window).
select trace_id, response_id, count(*) as copies
from {{ ref('stg_otel__spans') }}
where is_llm_call and response_id is not null and {{ in_window('started_at') }}
group by trace_id, response_id
having count(*) > 1
