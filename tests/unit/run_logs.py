"""Materialize assets and keep what their steps logged, to check the lines a person reads in a run log."""

from typing import Any

import dagster as dg


def materialize_logged(assets: list[Any], **kwargs: Any) -> tuple[dg.ExecuteInProcessResult, list[str]]:
    """`dg.materialize` on an ephemeral instance, with the run's log messages in order."""
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(assets, instance=instance, **kwargs)
        messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    return result, messages
