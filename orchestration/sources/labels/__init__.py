"""Reviewer success labels, from CSV or JSON-lines files.

Fetches: `*.csv`, `*.jsonl`, `*.json` (optionally `.gz`) under `AGENTLEDGER_LABELS_DIR`, with columns
`run_id, outcome (success|failure), labeled_at, reviewer, rework_minutes, escalated, retry_of_run_id`.
Grain: `raw.labels_reviews` one row per label as written (a run relabeled later has two rows;
staging keeps the latest).
Cursor: the day the label was written (`labeled_at`, UTC). Reviewers label within 48 h of a run,
so every nightly run re-reads the last `AGENTLEDGER_LABEL_LOOKBACK_DAYS` (default 3) days.
"""
