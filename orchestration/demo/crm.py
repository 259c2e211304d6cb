"""The demo agency's CRM: deals built from the generator's ground truth, and its manual baselines.

Reads `$HOME/demo-facts/runs.csv` (every run with its account, start and true outcome) and the
project's `seeds/account_map.csv` (which CRM record each client account is), and builds what the
fake HubSpot and Salesforce APIs serve, plus `$HOME/baselines.csv` (manual baseline engagements,
read by the pipeline beside `seeds/baselines.csv`).

The story the numbers tell:

- **Agent period** (the demo's days): each client account closes a deal every week; its amount is
  `VALUE_PER_SUCCESS_USD` for every successful run on the account in the week before, so a
  successful run is credited about that much under linear attribution (runs of the last 30 days
  less: their windows are still open).
- **Baseline quarters** (the quarter before each quarter with runs, up to 44 days before the first
  run so no window reaches an agent-period deal): manual engagements in 40-day cycles. Manual SEO
  audits, lead research, outreach and competitor studies (`DRIVING_WORKFLOWS`) were delivered
  early in a cycle, and the deal they led to closed more than 30 days later: they earned nothing
  in the window, so the agent versions show their whole credit as lift. Manual client reports,
  content briefs and code work (`NEUTRAL_WORKFLOWS`) came in the 30 days before the cycle's deal,
  which is sized so that each earned what a run on that account earns in the next quarter (the
  median linear credit): the agent versions show a lift near zero. Email and ticket triage,
  ad-copy variants and release notes had no manual engagements logged: their runs are unmatched.
- **Edge cases**: Northwind's EU company deals in EUR and Globex's Salesforce unit in GBP
  (converted at the ECB rates of seeds/fx_rates.csv); one deal in MXN (a currency with no rate:
  flagged, left out); every fourth week a lost deal; the first agent-period HubSpot deal was
  corrected after closing (its amount cut by 10%, edited later); one won HubSpot deal archived and
  one won Salesforce opportunity deleted (both must be left out); Northwind deals also list its EU
  company as an unlabeled association, and each primary company twice (Primary + unlabeled).
"""

from __future__ import annotations

import bisect
import csv
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

from orchestration.demo.catalog import WORKFLOWS, accounts_for
from orchestration.settings import PROJECT_ROOT

VALUE_PER_SUCCESS_USD = Decimal("60")
ATTRIBUTION_WINDOW = timedelta(days=30)
DEAL_EVERY = timedelta(days=7)
DEAL_HOUR = time(15, 0)
CYCLE_DAYS = 40
DRIVING_DAYS = (0, 5)  # engagement days in a cycle that no deal follows within 30 days
NEUTRAL_DAYS = (7, 14)  # engagement days within 30 days before the cycle's deal
DEAL_DAY = 35
DRIVING_WORKFLOWS = ("seo_audit", "lead_enrichment", "pr_backlink_outreach", "competitor_analysis")
NEUTRAL_WORKFLOWS = ("client_report", "content_brief", "code_review", "code_refactor")
STRATEGIST_HOURS = {
    "seo_audit": Decimal("6"), "lead_enrichment": Decimal("1.5"), "pr_backlink_outreach": Decimal("3"),
    "competitor_analysis": Decimal("7"), "client_report": Decimal("2.5"), "content_brief": Decimal("2"),
    "code_review": Decimal("1.5"), "code_refactor": Decimal("4"),
}
CURRENCY_BY_CRM_ACCOUNT = {"30100002": "EUR", "001Dm0000000001AAA": "GBP"}
UNKNOWN_CURRENCY_ACCOUNT = "acct_stark"  # its first deal is in MXN, which fx_rates.csv lacks
CENT = Decimal("0.01")


@dataclass
class DemoDeal:
    """One deal in either CRM, before it is rendered in that CRM's format."""

    crm: str
    deal_id: str
    crm_account_id: str
    name: str
    amount: Decimal
    currency: str
    closed_at: datetime
    won: bool
    modified_at: datetime
    created_at: datetime
    removed: bool = False
    extra_company_ids: list[str] = field(default_factory=list)


@dataclass
class CrmWorld:
    """Everything the fake CRMs serve, and what the demo planted in it."""

    deals: list[DemoDeal]
    baseline_rows: list[tuple[str, str, date, Decimal, Decimal]]
    late_edited_deal: str | None = None
    archived_deal: str | None = None
    deleted_opportunity: str | None = None
    unknown_currency_deal: str | None = None

    def of(self, crm: str) -> list[DemoDeal]:
        """The deals of one CRM."""
        return [d for d in self.deals if d.crm == crm]


@dataclass(frozen=True)
class _Run:
    workflow: str
    account_id: str
    started_at: datetime
    success: bool


def _read_runs(path: Path) -> list[_Run]:
    with path.open(newline="") as handle:
        return [
            _Run(
                row["workflow"],
                row["account_id"],
                datetime.fromisoformat(row["started_at"].replace("Z", "+00:00")).replace(tzinfo=None),
                row["outcome"] == "success",
            )
            for row in csv.DictReader(handle)
        ]


def read_account_map(path: Path = PROJECT_ROOT / "seeds" / "account_map.csv") -> dict[str, list[tuple[str, str]]]:
    """Trace account id → its (crm, CRM account id) rows, in the seed's order."""
    mapping: dict[str, list[tuple[str, str]]] = defaultdict(list)
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            mapping[row["account_id"]].append((row["crm_system"], row["crm_account_id"]))
    return dict(mapping)


def crm_records(account_id: str, account_map: dict[str, list[tuple[str, str]]]) -> list[tuple[str, str]]:
    """CRM records of a trace account: the map's, else the HubSpot company its id names."""
    if account_id in account_map:
        return account_map[account_id]
    if account_id.startswith("hs_company_"):
        return [("hubspot", account_id.removeprefix("hs_company_"))]
    return []  # acct_internal: the agency's own tooling has no deals


class _Rates:
    """USD per unit by currency, as of a day (the seed's latest rate on or before it)."""

    def __init__(self, path: Path = PROJECT_ROOT / "seeds" / "fx_rates.csv") -> None:
        self._days: dict[str, list[date]] = defaultdict(list)
        self._rates: dict[str, list[Decimal]] = defaultdict(list)
        with path.open(newline="") as handle:
            for row in sorted(csv.DictReader(handle), key=lambda r: r["rate_date"]):
                self._days[row["currency"]].append(date.fromisoformat(row["rate_date"]))
                self._rates[row["currency"]].append(Decimal(row["usd_per_unit"]))

    def usd_per_unit(self, currency: str, day: date) -> Decimal:
        index = bisect.bisect_right(self._days[currency], day) - 1
        return self._rates[currency][max(index, 0)]


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _next_quarter(start: date) -> date:
    return date(start.year + (start.month == 10), (start.month + 2) % 12 + 1, 1)


def _previous_quarter(start: date) -> date:
    return date(start.year - (start.month == 1), (start.month - 4) % 12 + 1, 1)


def _serves(workflow: str, account_id: str) -> bool:
    names, _ = accounts_for(WORKFLOWS[workflow])
    return account_id in names


class _Ids:
    def __init__(self) -> None:
        self.hubspot = 9_100_000_000
        self.salesforce = 0

    def next(self, crm: str) -> str:
        if crm == "hubspot":
            self.hubspot += 1
            return str(self.hubspot)
        self.salesforce += 1
        return f"006Dm{self.salesforce:010d}AAA"


def _linear_credits(deals: list[tuple[str, datetime, Decimal]], runs_by_account: dict[str, list[_Run]]) -> dict:
    """Per-run linear credit of `deals` (account, close, USD amount) — the pipeline's rule, in Python."""
    credit: dict[_Run, Decimal] = defaultdict(Decimal)
    for account_id, closed_at, amount in deals:
        eligible = [
            r for r in runs_by_account[account_id]
            if r.success and closed_at - ATTRIBUTION_WINDOW <= r.started_at < closed_at
        ]
        for run in eligible:
            credit[run] += amount / len(eligible)
    return credit


def build_world(home: Path) -> CrmWorld:
    """Build the demo CRM from `home/demo-facts/runs.csv` and write `home/baselines.csv`."""
    runs = _read_runs(home / "demo-facts" / "runs.csv")
    return _build(tuple(runs), home)


@lru_cache(maxsize=4)
def _build(runs: tuple[_Run, ...], home: Path) -> CrmWorld:
    account_map = read_account_map()
    rates = _Rates()
    ids = _Ids()
    runs_by_account: dict[str, list[_Run]] = defaultdict(list)
    for run in runs:
        runs_by_account[run.account_id].append(run)
    first_day = min(r.started_at for r in runs).date()
    last_day = max(r.started_at for r in runs).date()
    last_moment = datetime.combine(last_day, time(23, 0))

    deals: list[DemoDeal] = []
    world = CrmWorld(deals=deals, baseline_rows=[])

    def add(crm: str, crm_account_id: str, name: str, amount_usd: Decimal, closed_at: datetime, won: bool,
            currency: str = "USD") -> DemoDeal:
        if crm == "salesforce":  # CloseDate is a day; the pipeline counts it as closing at the end of it
            closed_at = datetime.combine(closed_at.date() + timedelta(days=1), time())
        rate = Decimal(1) if currency in ("USD", "MXN") else rates.usd_per_unit(currency, closed_at.date())
        amount = (amount_usd / rate if currency != "MXN" else amount_usd * Decimal("18.4")).quantize(
            CENT, ROUND_HALF_UP
        )
        deal = DemoDeal(crm, ids.next(crm), crm_account_id, name, amount, currency, closed_at, won,
                        modified_at=min(closed_at + timedelta(hours=2), last_moment),
                        created_at=closed_at - timedelta(days=21))
        deals.append(deal)
        return deal

    agent_deals = _plant_agent_deals(world, add, runs_by_account, account_map, first_day, last_moment)
    _plant_edits(world, agent_deals, last_moment)
    _plant_baselines(world, add, runs, runs_by_account, account_map, agent_deals, first_day, last_day)
    _write_baselines(home / "baselines.csv", world.baseline_rows)
    return world


def _plant_agent_deals(world: CrmWorld, add, runs_by_account, account_map, first_day: date, last_moment: datetime):
    """Weekly won deals per account over the demo's days (and a lost one every fourth week)."""
    # Agent period: a weekly deal per account, worth VALUE_PER_SUCCESS_USD per success of the week.
    agent_deals: list[tuple[str, datetime, Decimal]] = []
    for index, account_id in enumerate(sorted(runs_by_account)):
        records = crm_records(account_id, account_map)
        if not records:
            continue
        if account_id == UNKNOWN_CURRENCY_ACCOUNT:  # a deal in a currency fx_rates.csv lacks
            crm, crm_account_id = records[0]
            launch = datetime.combine(first_day + timedelta(days=1), DEAL_HOUR)
            deal = add(crm, crm_account_id, f"{account_id} Mexico launch", Decimal(2500), launch, True, "MXN")
            world.unknown_currency_deal = deal.deal_id
        # accounts close on different weekdays; a range shorter than a week still sees every account close
        offset = 1 + index % max(1, min(7, (last_moment.date() - first_day).days))
        closed_at = datetime.combine(first_day + timedelta(days=offset), DEAL_HOUR)
        week = 0
        while closed_at <= last_moment:
            successes = sum(
                1 for r in runs_by_account[account_id]
                if r.success and closed_at - DEAL_EVERY <= r.started_at < closed_at
            )
            # An account with several CRM records closes one deal on each, sharing the week's value.
            for crm, crm_account_id in records:
                currency = CURRENCY_BY_CRM_ACCOUNT.get(crm_account_id, "USD")
                if successes:
                    amount = VALUE_PER_SUCCESS_USD * successes / len(records)
                    deal = add(crm, crm_account_id, f"{account_id} week {week + 1}", amount, closed_at, True, currency)
                    agent_deals.append((account_id, deal.closed_at, amount))
                    if account_id == "acct_northwind" and crm_account_id == "30100001":
                        deal.extra_company_ids.append("30100002")
                if week % 4 == 3:
                    add(crm, crm_account_id, f"{account_id} upsell {week + 1}", Decimal(1500), closed_at, False)
            closed_at += DEAL_EVERY
            week += 1
    return agent_deals


def _plant_baselines(
    world: CrmWorld, add, runs, runs_by_account, account_map, agent_deals, first_day: date, last_day: date
) -> None:
    """Manual engagements and their deals in the quarter before each quarter with runs."""
    # Baselines: the quarter before each quarter with runs, in 40-day cycles (see the module doc).
    credits = _linear_credits(agent_deals, runs_by_account)
    median_credit: dict[tuple[str, date], Decimal] = {}
    by_account_quarter: dict[tuple[str, date], list[Decimal]] = defaultdict(list)
    for run in runs:
        if run.success:
            by_account_quarter[(run.account_id, _quarter_start(run.started_at.date()))].append(credits.get(run, 0))
    for key, values in by_account_quarter.items():
        median_credit[key] = Decimal(statistics.median(values))
    latest_engagement = first_day - timedelta(days=44)  # no engagement's window reaches an agent deal
    run_quarter = _quarter_start(first_day)
    while run_quarter <= last_day:
        baseline_quarter = _previous_quarter(run_quarter)
        quarter_end = run_quarter - timedelta(days=1)
        cycle = baseline_quarter
        while cycle + timedelta(days=NEUTRAL_DAYS[1]) <= quarter_end and cycle <= latest_engagement:
            for account_id in sorted(runs_by_account):
                target = median_credit.get((account_id, run_quarter))
                records = crm_records(account_id, account_map)
                if not records or target is None:
                    continue
                _plant_cycle(world, add, account_id, records[0], cycle, target)
            cycle += timedelta(days=CYCLE_DAYS)
        run_quarter = _next_quarter(run_quarter)


def _plant_cycle(world: CrmWorld, add, account_id: str, record: tuple[str, str], cycle: date, target: Decimal) -> None:
    """One 40-day baseline cycle on an account: engagements, then the deal the neutral ones share."""
    rates = {name: Decimal(row) for name, row in _hourly_rates().items()}
    offset = sum(map(ord, account_id)) % 3
    neutral = 0
    for position, workflow in enumerate(DRIVING_WORKFLOWS + NEUTRAL_WORKFLOWS):
        if not _serves(workflow, account_id):
            continue
        if workflow in DRIVING_WORKFLOWS:
            day = cycle + timedelta(days=DRIVING_DAYS[0] + (offset + position) % (DRIVING_DAYS[1] + 1))
        else:
            span = NEUTRAL_DAYS[1] - NEUTRAL_DAYS[0] + 1
            day = cycle + timedelta(days=NEUTRAL_DAYS[0] + (offset + position) % span)
            neutral += 1
        world.baseline_rows.append((account_id, workflow, day, STRATEGIST_HOURS[workflow], rates[workflow]))
    if neutral:
        closed_at = datetime.combine(cycle + timedelta(days=DEAL_DAY), DEAL_HOUR)
        add(record[0], record[1], f"{account_id} renewal {cycle:%Y-%m}", target * neutral, closed_at, True)


@lru_cache(maxsize=1)
def _hourly_rates() -> dict[str, str]:
    with (PROJECT_ROOT / "seeds" / "workflows.csv").open(newline="") as handle:
        return {row["workflow"]: row["rework_hourly_rate_usd"] for row in csv.DictReader(handle)}


def _plant_edits(world: CrmWorld, agent_deals: list[tuple[str, datetime, Decimal]], last_moment: datetime) -> None:
    """A late amount correction, an archived HubSpot deal and a deleted Salesforce opportunity."""
    won = sorted((d for d in world.deals if d.won and d.currency != "MXN"), key=lambda d: (d.closed_at, d.deal_id))
    hubspot = [d for d in won if d.crm == "hubspot"]
    salesforce = [d for d in won if d.crm == "salesforce"]
    if hubspot:
        edited = hubspot[0]
        edited.amount = (edited.amount * Decimal("0.9")).quantize(CENT, ROUND_HALF_UP)
        edited.modified_at = max(edited.modified_at, min(edited.closed_at + timedelta(days=20), last_moment))
        world.late_edited_deal = edited.deal_id
    if len(hubspot) > 1:
        archived = hubspot[1]
        archived.removed = True
        archived.modified_at = min(archived.closed_at + timedelta(days=2), last_moment)
        world.archived_deal = archived.deal_id
    if salesforce:
        deleted = salesforce[0]
        deleted.removed = True
        deleted.modified_at = min(deleted.closed_at + timedelta(days=3), last_moment)
        world.deleted_opportunity = deleted.deal_id


def _write_baselines(path: Path, rows: list[tuple[str, str, date, Decimal, Decimal]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["account_id", "workflow", "engagement_date", "strategist_hours", "hourly_rate_usd"])
        for account_id, workflow, day, hours, rate in sorted(rows, key=lambda r: (r[2], r[0], r[1])):
            writer.writerow([account_id, workflow, day.isoformat(), hours, rate])
