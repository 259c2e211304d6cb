"""Alerts: every new finding of `marts.mart_cost_anomalies`, once, to a Slack-compatible webhook.

The nightly job's `alerts/cost_anomaly_alerts` step runs once the night is published (`bi_snapshot`,
which waits for every mart's gate): a night whose gates stopped it alerts nothing. It posts each
finding of the run's window (plus the dbt lookback, whose days the run re-evaluated) that it has not
sent before, one message per finding, and records each delivery in `alerts.sent_findings` (keyed
by the mart's stable `finding_id`) as soon as the webhook accepts it: a finding is sent once, however
often its day is re-run. Each run with a webhook reaches back to the day after the last one
delivered in full (`alerts.delivered_through`): a failed delivery, or a night whose alert step
never ran, is caught up by the next run that delivers. A lasting finding (an
episode) is remembered by its type, workflow, run and subject for `anomaly_cooldown_days`: when late
labels move the day it started, it is not sent again under its new id.

The webhook URL is a secret (a Slack incoming webhook carries its token in the path): it is read
from AGENTLEDGER_ALERT_WEBHOOK when the step runs and never logged, stored or put in an error.
Without it nothing is sent and nothing is recorded, so the findings go out once a webhook is set.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import duckdb
import requests
from dagster_duckdb import DuckDBResource

from orchestration.http import REQUEST_FAILURES, TIMEOUT, SpendLimitReached, is_redirect, make_session
from orchestration.marts import ANOMALY_COOLDOWN_DAYS, DBT_LOOKBACK_DAYS
from orchestration.partitions import ALERTS_FROM_TAG, daily_partitions, single_run, window_days
from orchestration.publish import SNAPSHOT_KEY

WEBHOOK_ENV = "AGENTLEDGER_ALERT_WEBHOOK"
MART = "marts.mart_cost_anomalies"
SENT_TABLE = "alerts.sent_findings"
# The last day whose findings are all delivered: every run with a webhook reaches back to the day
# after it, so a night whose delivery failed, or whose alert step never ran (its gates stopped it),
# is caught up by the next that delivers
DELIVERED_TABLE = "alerts.delivered_through"
MART_KEY = dg.AssetKey(["marts", "mart_cost_anomalies"])
SEVERITY_EMOJI = {"high": ":rotating_light:", "medium": ":warning:", "low": ":information_source:"}
CATEGORY_TITLES = {
    "anomaly": "Cost anomaly",
    "cost_bloat": "Avoidable spend",
    "optimization_trigger": "Optimization trigger",
}


class AlertDeliveryError(RuntimeError):
    """The webhook did not accept a finding after retries (the message never names the URL)."""


@dataclass
class AlertReport:
    """What one alert step did."""

    new: int = 0
    sent: list[str] = field(default_factory=list)
    skipped_reason: str | None = None

    def as_metadata(self) -> dict[str, Any]:
        """Metadata of the step's materialization."""
        return {"new_findings": self.new, "sent": len(self.sent), "not_sent_reason": self.skipped_reason or ""}


def ensure_sent_table(conn: duckdb.DuckDBPyConnection) -> None:
    """Create `alerts.sent_findings` (one row per finding delivered) when it does not exist."""
    conn.execute("create schema if not exists alerts")
    conn.execute(
        f"""
        create table if not exists {SENT_TABLE} (
            finding_id varchar primary key,
            anomaly_type varchar not null,
            workflow varchar,
            detected_on date not null,
            sent_at timestamp not null,
            http_status integer not null,
            run_id varchar,
            subject varchar
        )
        """
    )
    # tables made before sent findings kept their run and subject: those rows match on type and workflow
    conn.execute(f"alter table {SENT_TABLE} add column if not exists run_id varchar")
    conn.execute(f"alter table {SENT_TABLE} add column if not exists subject varchar")
    conn.execute(f"create table if not exists {DELIVERED_TABLE} (last_day date not null)")


def _delivered_through(conn: duckdb.DuckDBPyConnection) -> date | None:
    return conn.execute(f"select max(last_day) from {DELIVERED_TABLE}").fetchone()[0]


def _set_delivered_through(conn: duckdb.DuckDBPyConnection, last_day: date) -> None:
    conn.execute(f"delete from {DELIVERED_TABLE}")
    conn.execute(f"insert into {DELIVERED_TABLE} values (?)", [last_day])


def new_findings(
    conn: duckdb.DuckDBPyConnection, first: date, last: date, cooldown_days: int = ANOMALY_COOLDOWN_DAYS
) -> list[dict[str, Any]]:
    """Findings detected on `first..last` that were never sent, most severe first, then oldest.

    An episode (a lasting condition) is remembered, not only its day: late labels can move the day
    it started by a day or two (the mart recomputes the lookback days), which gives it a new
    `finding_id`. One already sent for the same type, workflow, run and subject within
    `cooldown_days` of its day is the same episode and is not sent again.
    """
    ensure_sent_table(conn)
    cursor = conn.execute(
        f"""
        select findings.*
        from {MART} as findings
        anti join {SENT_TABLE} as sent on findings.finding_id = sent.finding_id
        where findings.detected_on between ? and ?
            and not (findings.is_episode and exists (
                select 1 from {SENT_TABLE} as episode
                where episode.anomaly_type = findings.anomaly_type
                    and episode.workflow is not distinct from findings.workflow
                    and (episode.run_id is not distinct from findings.run_id or episode.run_id is null)
                    and (episode.subject is not distinct from findings.subject or episode.subject is null)
                    and abs(episode.detected_on - findings.detected_on) <= ?
            ))
        order by
            case findings.severity when 'high' then 0 when 'medium' then 1 else 2 end,
            findings.detected_on,
            findings.finding_id
        """,
        [first, last, cooldown_days],
    )
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def slack_payload(finding: dict[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook message: `text` (notifications, plain clients) and Block Kit blocks."""
    title = f"{CATEGORY_TITLES.get(finding['category'], 'Finding')}: {finding['anomaly_type']}" + (
        f" in {finding['workflow']}" if finding.get("workflow") else ""
    )
    emoji = SEVERITY_EMOJI.get(finding["severity"], "")
    context = f"detected {finding['detected_on']} · severity {finding['severity']} · finding {finding['finding_id']}"
    return {
        "text": f"{emoji} {title}: {finding['explanation']}".strip(),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{emoji} {finding['explanation']}".strip()}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
    }


def _post(session: requests.Session, url: str, payload: dict[str, Any]) -> int:
    """POST one message; the HTTP status after the session's retries. Errors never carry the URL."""
    try:
        response = session.post(url, json=payload, timeout=TIMEOUT)
    except SpendLimitReached:
        raise AlertDeliveryError(
            "alert webhook answered HTTP 429, a limit that waiting does not lift: check AGENTLEDGER_ALERT_WEBHOOK"
        ) from None
    except REQUEST_FAILURES as error:  # its text names the URL: report the kind only
        raise AlertDeliveryError(
            f"alert webhook unreachable ({type(error).__name__}): check AGENTLEDGER_ALERT_WEBHOOK"
        ) from None
    response.close()
    return response.status_code


def send_new_findings(
    conn: duckdb.DuckDBPyConnection,
    webhook_url: str | None,
    first: date,
    last: date,
    *,
    session: requests.Session | None = None,
    log: Callable[[str], None] = print,
) -> AlertReport:
    """Send every finding detected on `first..last` not sent before; remember each one delivered.

    Args:
        conn: The warehouse (read `marts.mart_cost_anomalies`, write `alerts.sent_findings`).
        webhook_url: The Slack-compatible incoming webhook, or None: then nothing is sent.
        first: First day of findings to consider.
        last: Last day, inclusive.
        session: HTTP session (default: `make_session()`, which retries 429 and 5xx with backoff).
        log: Where the one summary line goes.

    Raises:
        AlertDeliveryError: The webhook refused or could not take a finding after retries; the
            findings delivered before it are recorded, the rest are retried by the next run, which
            reaches back to `first` of this one however far its own window has moved on.
    """
    ensure_sent_table(conn)
    delivered_through = _delivered_through(conn) if webhook_url else None
    if delivered_through is not None:  # nights since the last full delivery (failed, or never alerted)
        first = min(first, delivered_through + timedelta(days=1))
    findings = new_findings(conn, first, last)
    report = AlertReport(new=len(findings))
    window = f"{first}..{last}"
    if not webhook_url:
        report.skipped_reason = f"{WEBHOOK_ENV} is not set"
        log(f"{WEBHOOK_ENV} is not set: {len(findings)} new finding(s) detected {window} not sent")
        return report
    session = session or make_session()
    try:
        _deliver(conn, session, webhook_url, findings, report)
    except AlertDeliveryError:
        if delivered_through is None:  # the first delivery: what it missed is due from its first day
            _set_delivered_through(conn, first - timedelta(days=1))
        raise
    # a run over older days (a backfill) delivers them without moving the mark back
    _set_delivered_through(conn, max(last, delivered_through or last))
    log(f"sent {len(report.sent)} new finding(s) detected {window} to the alert webhook")
    return report


def _deliver(
    conn: duckdb.DuckDBPyConnection,
    session: requests.Session,
    webhook_url: str,
    findings: list[dict[str, Any]],
    report: AlertReport,
) -> None:
    """Post the findings in order, recording each one the webhook took; stop at the first it did not."""
    for finding in findings:
        status = _post(session, webhook_url, slack_payload(finding))
        if is_redirect(status):
            raise AlertDeliveryError(
                f"alert webhook answered with a redirect (HTTP {status}), which is not followed: set "
                f"{WEBHOOK_ENV} to the address that takes the messages; {len(report.sent)} of {len(findings)} new "
                "finding(s) sent, the rest are retried by the next run"
            )
        if not 200 <= status < 300:
            raise AlertDeliveryError(
                f"alert webhook answered HTTP {status} after retries: {len(report.sent)} of {len(findings)} new "
                f"finding(s) sent, the rest are retried by the next run"
            )
        conn.execute(
            f"insert into {SENT_TABLE} (finding_id, anomaly_type, workflow, detected_on, sent_at, http_status, "
            "run_id, subject) values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                finding["finding_id"],
                finding["anomaly_type"],
                finding["workflow"],
                finding["detected_on"],
                datetime.now(UTC).replace(tzinfo=None),
                status,
                finding["run_id"],
                finding["subject"],
            ],
        )
        report.sent.append(finding["finding_id"])


@dg.asset(
    key=dg.AssetKey(["alerts", "cost_anomaly_alerts"]),
    # after the publish, not the mart alone: the mart reads marts whose own gates may fail
    deps=[MART_KEY, SNAPSHOT_KEY],
    group_name="alerts",
    kinds={"slack", "duckdb"},
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    description="Each new finding of marts.mart_cost_anomalies, once, to AGENTLEDGER_ALERT_WEBHOOK "
    "(Slack-compatible JSON); sent findings are remembered in alerts.sent_findings.",
)
def cost_anomaly_alerts(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """Alert on the findings of the run's window (and the lookback days it re-evaluated)."""
    first, last = window_days(context)
    # the mart re-evaluates dbt's lookback days before the window: their findings can be new too
    first = first - timedelta(days=DBT_LOOKBACK_DAYS)
    # a recompute run rebuilds days long past: only the night's window is news (no flood of old findings)
    if ALERTS_FROM_TAG in context.run.tags:
        first = max(first, date.fromisoformat(context.run.tags[ALERTS_FROM_TAG]))
    webhook_url = os.environ.get(WEBHOOK_ENV, "").strip() or None
    with duckdb.get_connection() as conn:
        report = send_new_findings(conn, webhook_url, first, last, log=context.log.info)
    return dg.MaterializeResult(metadata=report.as_metadata())
