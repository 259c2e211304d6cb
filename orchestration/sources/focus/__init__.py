"""FOCUS 1.2 billing exports (reference §C.3): the no-code path for any provider, Google and DeepSeek first.

Fetches: every `*.csv`, `*.csv.gz` and `*.parquet` under `AGENTLEDGER_FOCUS_DIR` (any subfolders):
Google's Cloud Billing FOCUS export, a DeepSeek usage export converted to FOCUS, or any provider's.
Columns are FOCUS 1.2's, snake-cased; every other column (`x_` vendor columns, newer FOCUS
columns) passes through in `extra_columns` as JSON.
Grain: `raw.focus_charges` one row per charge row of the newest export holding it.
Cursor: the charge day (`ChargePeriodStart`, UTC). Each night re-reads the partition window plus
`AGENTLEDGER_PROVIDER_LOOKBACK_DAYS` and replaces those days; a `Correction` row billed in a period
the window re-reads reaches back to the day it restates, where only the rows of such periods are
replaced (that day's own charges stay as loaded, even once their export has left the folder).
Exports overlap (a month-to-date file re-exported daily): for each (provider, billing account,
billing period, charge day) the newest file wins — by modification
time, then path — so a re-export replaces what it restates and never adds to it, while a
correction billed in a later period (its own billing period) adds to the day it corrects.
Skipped with one log line when the folder does not exist.
"""
