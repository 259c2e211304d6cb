"""The `agentledger` command: run, backfill, demo, report, prices."""

from __future__ import annotations

import argparse
import math
import sys
from datetime import date
from pathlib import Path

from orchestration.partitions import yesterday
from orchestration.settings import PROJECT_ROOT, get_settings

DESCRIPTION = """\
agentledger: cost per successful task and attributed ROI of AI agent workflows,
computed nightly from OpenTelemetry traces, review labels, provider bills and CRM revenue.

Settings come from environment variables (AGENTLEDGER_HOME, AGENTLEDGER_DB, AGENTLEDGER_TRACES_DIR,
AGENTLEDGER_LABELS_DIR, provider keys ...); see README.md.
"""

EPILOG = """\
exit status:
  0  done
  1  a run (run, backfill, demo) failed: a step or a blocking gate failed; the failures are listed
  2  the command stopped on an error it names: a bad argument, a day that is not a daily partition
     (before AGENTLEDGER_START_DATE, or not yet complete), a file or folder missing or unusable
     (a file where a folder goes), an invalid setting or seed, a demo folder or setting that is not
     the demo's, a run history folder that cannot be written, a warehouse another process or
     agentledger run holds
  a run that succeeded lists the warnings of its checks (a run that outlasted dbt's lookback_days)
"""


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from error


# Ten years of demo: more reaches before any date Python holds (an OverflowError, not exit 2).
MAX_DEMO_DAYS = 3650


def _days_count(text: str) -> int:
    """A number of demo days, checked by argparse: the demo empties its folder first."""
    try:
        days = int(text)
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_DEMO_DAYS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days from 1 to {MAX_DEMO_DAYS}")
    return days


def _scale(text: str) -> float:
    """A demo volume multiplier, checked by argparse: the demo empties its folder first."""
    try:
        scale = float(text)
    except ValueError:
        scale = 0.0
    if not (math.isfinite(scale) and scale > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a volume multiplier above 0 (e.g. 0.2)")
    return scale


def _report_run(outcome: object, first: date, last: date) -> int:
    span = first.isoformat() if first == last else f"{first}..{last}"
    if not outcome.success:  # type: ignore[attr-defined]
        print(f"nightly run {outcome.run_id} for {span}: FAILED", file=sys.stderr)  # type: ignore[attr-defined]
        for failure in outcome.failures:  # type: ignore[attr-defined]
            print(f"  - {failure}", file=sys.stderr)
        return 1
    print(f"nightly run {outcome.run_id} for {span}: succeeded")  # type: ignore[attr-defined]
    for warning in outcome.warnings:  # type: ignore[attr-defined]
        print(f"  warning: {warning}")
    recompute = outcome.recompute  # type: ignore[attr-defined]
    if recompute is None:
        return 0
    days = ", ".join(day.isoformat() for day, _ in recompute.days)
    if recompute.run.success:
        print(f"recompute run {recompute.run.run_id} for {days} (late labels or evaluations): succeeded")
        return 0
    print(f"recompute run {recompute.run.run_id} for {days} (late labels or evaluations): FAILED", file=sys.stderr)
    for failure in recompute.run.failures:
        print(f"  - {failure}", file=sys.stderr)
    return 1


def cmd_run(args: argparse.Namespace) -> int:
    """Materialize the nightly job for one day."""
    from orchestration.runner import run_partitions

    day = args.date or yesterday()
    return _report_run(run_partitions(get_settings(), day, day), day, day)


def cmd_backfill(args: argparse.Namespace) -> int:
    """Materialize a range of days as one run."""
    from orchestration.runner import run_partitions

    return _report_run(run_partitions(get_settings(), args.start, args.end), args.start, args.end)


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate the demo data set and run the whole pipeline over it."""
    from orchestration.demo.run import run_demo

    return run_demo(
        get_settings(), end_date=args.end_date or yesterday(), days=args.days, seed=args.seed, scale=args.scale
    )


def cmd_report(args: argparse.Namespace) -> int:
    """Write report.html from the published snapshot."""
    from orchestration.report import write_report

    settings = get_settings()
    snapshot = Path(args.snapshot) if args.snapshot else settings.snapshot_path
    output = Path(args.output) if args.output else settings.report_path
    summary = write_report(snapshot, output)
    print(f"report: {summary.path} ({len(summary.charts)} charts, {summary.bytes / 1e6:.1f} MB, opens offline)")
    for section in summary.unavailable:
        print(f"  not available: {section.spec.title} ({section.reason})")
    return 0


def cmd_prices_sync(args: argparse.Namespace) -> int:
    """Regenerate the price book seeds from the pinned genai-prices release."""
    from orchestration.prices import sync_price_book

    summary = sync_price_book(Path(args.seeds_dir))
    for key, value in summary.items():
        print(f"{key}: {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (kept separate so --help can be tested)."""
    parser = argparse.ArgumentParser(
        prog="agentledger", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="materialize the nightly job for one UTC day (default: yesterday), then recompute older days "
        "a late label or evaluation made stale",
    )
    run.add_argument("--date", type=_day, help="the partition day, YYYY-MM-DD (default: yesterday, UTC)")
    run.set_defaults(handler=cmd_run)

    backfill = commands.add_parser(
        "backfill",
        help="materialize a range of days as one run, then recompute older days a late label or evaluation made stale",
    )
    backfill.add_argument("--start", type=_day, required=True, help="first day, YYYY-MM-DD")
    backfill.add_argument("--end", type=_day, required=True, help="last day (inclusive), YYYY-MM-DD")
    backfill.set_defaults(handler=cmd_backfill)

    demo = commands.add_parser(
        "demo",
        help="generate demo data (no keys needed), run the pipeline over it, print the headline",
        description="Delete the demo data in $AGENTLEDGER_HOME and write it again (inputs, warehouse, run "
        "history, published marts), run the pipeline over it and print the headline. Refuses a folder "
        "holding data the demo did not write, and AGENTLEDGER_DB, AGENTLEDGER_TRACES_DIR, "
        "AGENTLEDGER_LABELS_DIR, AGENTLEDGER_FOCUS_DIR or AGENTLEDGER_BASELINES_FILE pointing outside "
        "that folder.",
    )
    demo.add_argument(
        "--days", type=_days_count, default=90, help=f"days of history to generate, 1 to {MAX_DEMO_DAYS} (default 90)"
    )
    demo.add_argument("--end-date", type=_day, help="last demo day (default: yesterday, UTC)")
    demo.add_argument("--seed", type=int, default=7, help="random seed; same seed, same data (default 7)")
    demo.add_argument("--scale", type=_scale, default=1.0, help="volume multiplier, above 0 (default 1.0)")
    demo.set_defaults(handler=cmd_demo)

    report = commands.add_parser(
        "report", help="write report.html (charts, self-contained) from the published snapshot marts.duckdb"
    )
    report.add_argument("--snapshot", help="the snapshot to read (default: $AGENTLEDGER_HOME/marts.duckdb)")
    report.add_argument("--output", help="where to write the page (default: $AGENTLEDGER_HOME/report.html)")
    report.set_defaults(handler=cmd_report)

    prices = commands.add_parser("prices", help="the price book")
    price_commands = prices.add_subparsers(dest="prices_command", required=True, metavar="ACTION")
    sync_help = (
        "regenerate seeds/model_prices.csv and seeds/model_match_rules.csv from genai-prices; create "
        "seeds/price_overrides.csv (header only) when missing, else check its header and leave its rows"
    )
    sync = price_commands.add_parser("sync", help=sync_help, description=sync_help)
    sync.add_argument("--seeds-dir", default=str(PROJECT_ROOT / "seeds"), help="where the seeds live")
    sync.set_defaults(handler=cmd_prices_sync)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `agentledger` console script."""
    try:
        get_settings()  # an invalid setting stops every command, --help included, with its name
    except ValueError as error:
        print(f"agentledger: {error}", file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (OSError, ValueError, RuntimeError) as error:  # OSError: a missing file, a folder where a file goes …
        print(f"agentledger: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
