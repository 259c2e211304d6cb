"""Alerts: each new finding reaches a Slack-compatible webhook exactly once, through retries."""

from datetime import date
from pathlib import Path

import duckdb
import orjson
import pytest

from orchestration.alerts import AlertDeliveryError, send_new_findings, slack_payload
from orchestration.demo.server import FakeApiServer, FakeRequest, FakeResponse
from orchestration.http import make_session

HOOK = "/services/T0AGENT/B0LEDGER/s3cr3tw3bh00kt0k3n"
FIRST, LAST = date(2026, 11, 18), date(2026, 11, 21)

LOOP = (
    "f_0000000000000001",
    date(2026, 11, 20),
    "loop_spike",
    "anomaly",
    "seo_audit",
    "wr_loop",
    "high",
    "run_cost_usd",
    91.27,
    4.17,
    "run wr_loop cost $91.27, 21.9× the 14-day median of $4.17 for seo_audit, in 564 LLM calls",
)
BLOAT = (
    "f_0000000000000002",
    date(2026, 11, 19),
    "context_bloat",
    "anomaly",
    "client_report",
    None,
    "medium",
    "input_tokens_per_call",
    122356,
    72810,
    "client_report's input per LLM call grew from 72,810 to 122,356 tokens over the 14 days to 2026-11-19",
)
TRIGGER = (
    "f_0000000000000003",
    date(2026, 11, 21),
    "human_intervention_high",
    "optimization_trigger",
    "code_refactor",
    None,
    "low",
    "human_intervention_rate",
    0.397,
    0.2,
    "code_refactor's human intervention rate was 39.7% in October 2026, above the 20% target",
)
OLD = ("f_0000000000000004", date(2026, 10, 1), *TRIGGER[2:])


class Webhook:
    """A Slack incoming webhook on the fake server: records the messages it accepted."""

    def __init__(self, server: FakeApiServer) -> None:
        self.accepted: list[dict] = []
        server.route("POST", HOOK, self._accept)

    def _accept(self, request: FakeRequest) -> FakeResponse:
        self.accepted.append(request.json())
        return FakeResponse(200, b"ok", {"Content-Type": "text/plain"})

    def finding_ids(self) -> list[str]:
        """The finding id each accepted message names, in order."""
        return [message["blocks"][2]["elements"][0]["text"].rsplit(" ", 1)[1] for message in self.accepted]


EVENTS = ("loop_spike", "inconsistent_inputs")  # every other type is a lasting condition (an episode)


def add_finding(conn: duckdb.DuckDBPyConnection, finding: tuple) -> None:
    conn.execute(
        "insert into marts.mart_cost_anomalies (finding_id, detected_on, anomaly_type, category, workflow, run_id, "
        "severity, measure, observed, expected, explanation, subject, is_episode) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null, ?)",
        [*finding, finding[2] not in EVENTS],
    )


def warehouse(path: Path, *findings: tuple) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(str(path))
    conn.execute("create schema if not exists marts")
    conn.execute(
        """
        create table if not exists marts.mart_cost_anomalies (
            finding_id varchar, detected_on date, anomaly_type varchar, category varchar, workflow varchar,
            run_id varchar, subject varchar, is_episode boolean, severity varchar, measure varchar,
            observed decimal(38, 10), expected decimal(38, 10), explanation varchar
        )
        """
    )
    for finding in findings:
        add_finding(conn, finding)
    return conn


def test_each_new_finding_is_sent_once_across_two_runs_through_a_5xx(tmp_path: Path) -> None:
    # given two findings in the window (and one older), and a webhook that fails once with a 503
    conn = warehouse(tmp_path / "w.duckdb", LOOP, BLOAT, OLD)
    with FakeApiServer() as server:
        webhook = Webhook(server)
        server.inject(HOOK, FakeResponse(503, {"error": "unavailable"}))
        url = server.base_url + HOOK

        # when the alert step runs, then a third finding appears and it runs again
        first = send_new_findings(conn, url, FIRST, LAST, log=lambda line: None)
        add_finding(conn, TRIGGER)
        second = send_new_findings(conn, url, FIRST, LAST, log=lambda line: None)
        third = send_new_findings(conn, url, FIRST, LAST, log=lambda line: None)

    # then the webhook accepted each new finding exactly once, the most severe first; the 503 was retried
    assert webhook.finding_ids() == [LOOP[0], BLOAT[0], TRIGGER[0]]
    assert len(server.requests_to(HOOK)) == 4  # 503, then three accepted
    assert (first.sent, second.sent, third.sent) == ([LOOP[0], BLOAT[0]], [TRIGGER[0]], [])
    remembered = conn.execute("select finding_id, http_status from alerts.sent_findings order by 1").fetchall()
    assert remembered == [(LOOP[0], 200), (BLOAT[0], 200), (TRIGGER[0], 200)]


def test_messages_are_slack_compatible_json_with_the_numbers() -> None:
    finding = dict(
        zip(
            ["finding_id", "detected_on", "anomaly_type", "category", "workflow", "run_id", "severity"],
            LOOP[:7],
            strict=True,
        )
    )
    finding["explanation"] = LOOP[10]
    payload = slack_payload(finding)
    assert payload["text"] == f":rotating_light: Cost anomaly: loop_spike in seo_audit: {LOOP[10]}"
    assert [block["type"] for block in payload["blocks"]] == ["header", "section", "context"]
    assert payload["blocks"][1]["text"] == {"type": "mrkdwn", "text": f":rotating_light: {LOOP[10]}"}
    assert orjson.loads(orjson.dumps(payload)) == payload


def test_without_a_webhook_nothing_is_sent_and_one_line_says_so(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb", LOOP, BLOAT)
    lines: list[str] = []

    report = send_new_findings(conn, None, FIRST, LAST, log=lines.append)

    assert lines == ["AGENTLEDGER_ALERT_WEBHOOK is not set: 2 new finding(s) detected 2026-11-18..2026-11-21 not sent"]
    assert (report.new, report.sent) == (2, [])
    assert conn.execute("select count(*) from alerts.sent_findings").fetchone() == (0,)


def test_a_webhook_that_keeps_failing_stops_the_step_without_naming_its_url(tmp_path: Path) -> None:
    # given a webhook that answers 500 to every attempt (three: the first and two retries)
    conn = warehouse(tmp_path / "w.duckdb", LOOP, BLOAT)
    with FakeApiServer() as server:
        webhook = Webhook(server)
        server.inject(HOOK, *[FakeResponse(500, {"error": "boom"})] * 3)
        session = make_session(total_retries=2, backoff_factor=0)

        # when the step runs
        with pytest.raises(AlertDeliveryError) as raised:
            send_new_findings(conn, server.base_url + HOOK, FIRST, LAST, session=session, log=lambda line: None)

        # then nothing is remembered as sent, the error says what happened but not the secret URL,
        # and the next run delivers both
        assert conn.execute("select count(*) from alerts.sent_findings").fetchone() == (0,)
        message = str(raised.value)
        assert "HTTP 500" in message and "0 of 2" in message
        assert "s3cr3t" not in message and "127.0.0.1" not in message
        report = send_new_findings(conn, server.base_url + HOOK, FIRST, LAST, log=lambda line: None)

    assert report.sent == [LOOP[0], BLOAT[0]]
    assert webhook.finding_ids() == [LOOP[0], BLOAT[0]]


def test_findings_of_nights_not_delivered_are_sent_by_the_next_run_that_delivers(tmp_path: Path) -> None:
    # given BLOAT (detected 11-19) and a webhook down for the night of 11-18..11-21
    conn = warehouse(tmp_path / "w.duckdb", BLOAT)
    with FakeApiServer() as server:
        webhook = Webhook(server)
        server.inject(HOOK, *[FakeResponse(500, {"error": "boom"})] * 3)
        session = make_session(total_retries=2, backoff_factor=0)
        url = server.base_url + HOOK
        with pytest.raises(AlertDeliveryError):
            send_new_findings(conn, url, FIRST, LAST, session=session, log=lambda line: None)

        def run(first: date, last: date) -> list[str]:
            return send_new_findings(conn, url, first, last, log=lambda line: None).sent

        # when a backfill of older days delivers, then the next nights run windows that no longer
        # hold 11-19; a finding of 11-25, a night whose alert step never ran (its gates stopped it),
        # is then caught up, and an old finding never sent stays outside every window
        backfill = run(date(2025, 1, 1), date(2025, 1, 31))
        add_finding(conn, OLD)
        later = run(date(2026, 11, 20), date(2026, 11, 23))
        add_finding(conn, ("f_0000000000000005", date(2026, 11, 25), *LOOP[2:]))
        after_a_gap = run(date(2026, 11, 27), date(2026, 11, 30))

    # then the backfill sends its own days only and leaves the failed night due; the next run reaches
    # back to it and delivers BLOAT, once; the run after the gap reaches back to 11-24
    assert (backfill, later, after_a_gap) == ([], [BLOAT[0]], ["f_0000000000000005"])
    assert webhook.finding_ids() == [BLOAT[0], "f_0000000000000005"]
    assert conn.execute("select last_day from alerts.delivered_through").fetchall() == [(date(2026, 11, 30),)]


def test_an_unreachable_webhook_is_reported_without_its_url(tmp_path: Path) -> None:
    conn = warehouse(tmp_path / "w.duckdb", LOOP)
    with FakeApiServer() as server:
        url = server.base_url + HOOK  # the server stops: nothing listens on that port any more
    with pytest.raises(AlertDeliveryError) as raised:
        send_new_findings(conn, url, FIRST, LAST, session=make_session(total_retries=0), log=lambda line: None)
    assert str(raised.value) == "alert webhook unreachable (ConnectionError): check AGENTLEDGER_ALERT_WEBHOOK"


def test_an_episode_whose_start_day_moves_is_not_sent_again(tmp_path: Path) -> None:
    # given client_report's context bloat sent as starting on 11-19
    conn = warehouse(tmp_path / "w.duckdb", BLOAT)
    with FakeApiServer() as server:
        webhook = Webhook(server)
        url = server.base_url + HOOK
        send_new_findings(conn, url, FIRST, LAST, log=lambda line: None)

        # when late labels move its start to 11-18 (a new id), while another workflow's bloat starts
        # that day and a second looping run of the same workflow is found (an event, not an episode)
        conn.execute("delete from marts.mart_cost_anomalies")
        moved = ("f_0000000000000005", date(2026, 11, 18), *BLOAT[2:])
        other = ("f_0000000000000006", date(2026, 11, 18), "context_bloat", "anomaly", "ticket_triage", *BLOAT[5:])
        again = ("f_0000000000000007", date(2026, 11, 20), *LOOP[2:5], "wr_loop_2", *LOOP[6:])
        loop = ("f_0000000000000008", date(2026, 11, 19), *LOOP[2:])
        for finding in (moved, other, again, loop):
            add_finding(conn, finding)
        report = send_new_findings(conn, url, FIRST, LAST, log=lambda line: None)

    # then the moved episode is not sent again; the other workflow's and both runs' are
    assert webhook.finding_ids() == [BLOAT[0], loop[0], again[0], other[0]]
    assert sorted(report.sent) == sorted([other[0], again[0], loop[0]])


def test_a_webhook_that_redirects_is_not_followed(tmp_path: Path) -> None:
    # given a webhook URL that redirects elsewhere
    conn = warehouse(tmp_path / "w.duckdb", LOOP)
    with FakeApiServer() as elsewhere, FakeApiServer() as server:
        other = Webhook(elsewhere)
        server.inject(HOOK, FakeResponse(308, None, {"Location": elsewhere.base_url + HOOK}))
        # when
        with pytest.raises(AlertDeliveryError) as raised:
            send_new_findings(conn, server.base_url + HOOK, FIRST, LAST, session=make_session(total_retries=0),
                              log=lambda line: None)
    # then nothing reached the other address or was remembered as sent, and the error names the setting only
    assert other.accepted == []
    assert conn.execute("select count(*) from alerts.sent_findings").fetchone() == (0,)
    assert str(raised.value).startswith("alert webhook answered with a redirect (HTTP 308), which is not followed: "
                                        "set AGENTLEDGER_ALERT_WEBHOOK")
