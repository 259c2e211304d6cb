"""The HTML report: one self-contained `report.html` with the charts a person decides from.

It reads the published snapshot (`marts.duckdb`), never the working warehouse, so it can be
rebuilt while a nightly run holds the warehouse, and it shows exactly what BI tools see. The file
embeds plotly.js (a maintained plotting library, MIT), so it opens offline in any browser.

Each section needs one mart. A section whose mart is not in the snapshot, or lacks a column the
section reads, is listed as unavailable at the top of the report instead of failing the report:
marts are added by separate pieces of work, and each chart appears once its mart is published.
The columns each section reads are in `SECTIONS` (roles → accepted column names, DESIGN §5).
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import plotly.graph_objects as go
import plotly.offline
from plotly.subplots import make_subplots

from orchestration.snapshot import INFO_TABLE, quote_identifier

PLOT_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
# Above this many days a daily bar chart is unreadable: spend is shown per ISO week instead.
MAX_DAILY_BARS = 92
ANOMALY_ROWS = 50
ANOMALY_DAYS = 7
# Ten distinguishable colours (Tableau 10); a stacked chart shows at most this many series.
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]
MAX_SERIES = len(PALETTE)
SHORT_RANGE_DAYS = 14


class NoRows(Exception):
    """The mart exists but holds nothing to show for this section."""


@dataclass(frozen=True)
class Rendered:
    """A section's body: a plotly figure or an HTML table, and a sentence under the title."""

    figure: go.Figure | None = None
    table_html: str | None = None
    note: str = ""


@dataclass(frozen=True)
class SectionSpec:
    """One section: the mart it reads, the columns it needs (role → accepted names), how it draws."""

    id: str
    title: str
    mart: str
    columns: dict[str, tuple[str, ...]]
    build: Callable[[duckdb.DuckDBPyConnection, str, dict[str, str]], Rendered]
    what: str


@dataclass
class SectionResult:
    """What the report shows for one section."""

    spec: SectionSpec
    status: str  # "chart", "table", "empty" or "unavailable"
    body: str = ""
    note: str = ""
    reason: str = ""


@dataclass
class ReportSummary:
    """What `write_report` wrote."""

    path: Path
    sections: list[SectionResult] = field(default_factory=list)
    bytes: int = 0

    @property
    def charts(self) -> list[str]:
        """Ids of the sections drawn as charts."""
        return [section.spec.id for section in self.sections if section.status == "chart"]

    @property
    def unavailable(self) -> list[SectionResult]:
        """Sections left out because their mart (or a column of it) is not published."""
        return [section for section in self.sections if section.status == "unavailable"]


# --- helpers ------------------------------------------------------------------------------------


def _ident(columns: dict[str, str], role: str) -> str:
    return quote_identifier(columns[role])


def _frame(conn: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    """Rows as a DataFrame; DECIMAL money becomes float here, for drawing only."""
    frame = conn.execute(sql, params or []).df()
    if frame.empty:
        raise NoRows
    return frame


def _layout(figure: go.Figure, title: str, height: int, **overrides: object) -> go.Figure:
    layout: dict[str, object] = {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 17}},
        "template": "plotly_white",
        "colorway": PALETTE,
        "font": {"family": FONT, "size": 13},
        "height": height,
        "margin": {"l": 10, "r": 20, "t": 80, "b": 50},
        # beside the plot: a long list of series never covers the title or the bars
        "legend": {"orientation": "v", "x": 1.01, "xanchor": "left", "y": 1, "yanchor": "top"},
        "hoverlabel": {"font": {"family": FONT}},
    }
    layout.update(overrides)
    figure.update_layout(**layout)
    figure.update_yaxes(automargin=True)
    figure.update_xaxes(automargin=True)
    return figure


def _day_ticks(days: pd.Series) -> dict[str, object]:
    """One tick per day over a short range (plotly would otherwise tick every 12 h and repeat the date)."""
    return {"dtick": 86_400_000} if days.nunique() <= SHORT_RANGE_DAYS else {}


def _fold_small_series(frame: pd.DataFrame, value: str, series: str, keep: int = MAX_SERIES) -> pd.DataFrame:
    """Keep the `keep - 1` largest series by total and sum the rest into one "other" series."""
    totals = frame.groupby(series)[value].sum().sort_values(ascending=False)
    if len(totals) <= keep:
        return frame
    kept = set(totals.index[: keep - 1])
    other = f"other ({len(totals) - len(kept)})"
    folded = frame.assign(**{series: frame[series].where(frame[series].isin(kept), other)})
    keys = [column for column in frame.columns if column not in (series, value)]
    return folded.groupby([*keys, series], as_index=False, dropna=False)[value].sum()


def _stacked_bars(frame: pd.DataFrame, x: str, y: str, series: str, hover: str) -> list[go.Bar]:
    """One bar trace per series, largest total first (at the bottom of the stack, first in the legend)."""
    frame = _fold_small_series(frame[[x, series, y]], y, series)
    totals = frame.groupby(series)[y].sum().sort_values(ascending=False)
    return [
        go.Bar(
            x=frame.loc[frame[series] == name, x],
            y=frame.loc[frame[series] == name, y],
            name=str(name),
            hovertemplate=hover,
        )
        for name in totals.index
    ]


# --- sections -----------------------------------------------------------------------------------


def _log_ticks(values: pd.Series) -> dict[str, list]:
    """Readable ticks for a log axis of dollars: 1-3-10 steps ($0.01, $0.03, $0.1 …) over the data's range."""
    positive = values[values > 0]
    if positive.empty:
        return {}
    low, high = math.floor(math.log10(positive.min())), math.ceil(math.log10(positive.max()))
    ticks = [mantissa * 10.0**exponent for exponent in range(low, high + 1) for mantissa in (1, 3)]
    labels = [f"${tick:,.{max(0, -math.floor(math.log10(tick)))}f}" for tick in ticks]
    # a little room beyond the extremes, so the outermost markers are drawn whole
    span = [math.log10(positive.min()) - 0.1, math.log10(positive.max()) + 0.1]
    return {"tickvals": ticks, "ticktext": labels, "range": span}


def _all_time(
    conn: duckdb.DuckDBPyConnection,
    mart: str,
    c: dict[str, str],
    columns: dict[str, str],
    numeric: tuple[str, ...],
    value: str,
) -> tuple[pd.DataFrame, list[str]]:
    """A mart's all-time rows (`period = 'all'`), smallest `value` first (drawn at the bottom).

    Returns the rows that have `value`, and apart the workflows that do not (named under the chart).
    """
    select = ", ".join(f"{_ident(c, role)} as {alias}" for alias, role in columns.items())
    frame = _frame(
        conn,
        f"select {select} from {quote_identifier(mart)} where {_ident(c, 'period')} = 'all' "
        f"order by {value} asc nulls first, workflow desc",
    )
    frame = frame.astype(dict.fromkeys(numeric, "float64"))
    missing = frame.loc[frame[value].isna(), "workflow"].tolist()
    frame = frame.dropna(subset=[value])
    if frame.empty:
        raise NoRows
    return frame, missing


def cpst_by_workflow(conn: duckdb.DuckDBPyConnection, mart: str, c: dict[str, str]) -> Rendered:
    """CPST and true CPST per workflow over all time, beside the median run cost and its 95% interval.

    A dot plot on a log axis: costs span four orders of magnitude across workflows, and bars on a
    log axis would suggest lengths that mean nothing.
    """
    frame, no_success = _all_time(
        conn, mart, c,
        {"workflow": "workflow", "cpst": "cpst", "true_cpst": "true_cpst", "median": "median", "ci_low": "ci_low",
         "ci_high": "ci_high", "runs": "runs", "successes": "successful_runs"},
        numeric=("cpst", "true_cpst", "median", "ci_low", "ci_high"),
        value="cpst",
    )
    counts = frame[["runs", "successes"]].to_numpy()
    figure = go.Figure(
        [
            go.Scatter(
                y=frame["workflow"], x=frame["true_cpst"], mode="markers", name="true CPST (+ rework of failed runs)",
                marker={"color": "#f58518", "symbol": "square", "size": 10},
                hovertemplate="%{y}<br>true CPST $%{x:,.4f}<extra></extra>",
            ),
            go.Scatter(
                y=frame["workflow"], x=frame["cpst"], mode="markers", name="CPST (LLM spend per successful task)",
                marker={"color": "#4c78a8", "symbol": "circle", "size": 11},
                customdata=counts,
                hovertemplate="%{y}<br>CPST $%{x:,.4f}<br>%{customdata[1]} successes of %{customdata[0]} runs"
                "<extra></extra>",
            ),
            go.Scatter(
                y=frame["workflow"], x=frame["median"], mode="markers", name="median run cost with its 95% interval",
                marker={"color": "#222", "symbol": "diamond", "size": 8},
                error_x={
                    "type": "data", "symmetric": False, "thickness": 1.5, "width": 5, "color": "#222",
                    "array": (frame["ci_high"] - frame["median"]).tolist(),
                    "arrayminus": (frame["median"] - frame["ci_low"]).tolist(),
                },
                customdata=frame[["ci_low", "ci_high"]].to_numpy(),
                hovertemplate="%{y}<br>median run $%{x:,.4f}<br>95% interval [$%{customdata[0]:,.4f}, "
                "$%{customdata[1]:,.4f}]<extra></extra>",
            ),
        ]
    )
    values = pd.concat([frame["cpst"], frame["true_cpst"], frame["ci_low"], frame["ci_high"]]).dropna()
    _layout(
        figure,
        "Cost per successful task by workflow, all time (USD, log scale)",
        height=170 + 40 * len(frame),
        scattermode="group",
        scattergap=0.45,
        xaxis={"type": "log", "title": {"text": "USD (log scale)"}, **_log_ticks(values)},
        yaxis={"title": {"text": "workflow"}, "showgrid": True},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0, "xanchor": "left", "traceorder": "reversed"},
    )
    note = (
        "CPST spreads failed runs' LLM spend over the successes; the interval is the distribution-free 95% "
        "interval of the median run cost (none under 6 runs)."
    )
    if no_success:
        note += f" No successful run yet, so no CPST: {', '.join(map(str, no_success))}."
    return Rendered(figure=figure, note=note)


def roi_ranking(conn: duckdb.DuckDBPyConnection, mart: str, c: dict[str, str]) -> Rendered:
    """ROI per workflow over all time with its 95% interval, best first."""
    frame, unknown = _all_time(
        conn, mart, c,
        {"workflow": "workflow", "roi": "roi", "low": "roi_ci_low", "high": "roi_ci_high",
         "attribution_model": "attribution_model"},
        numeric=("roi", "low", "high"),
        value="roi",
    )
    figure = go.Figure(
        go.Bar(
            y=frame["workflow"], x=frame["roi"], orientation="h", name="ROI",
            marker_color=["#54a24b" if value >= 0 else "#e45756" for value in frame["roi"]],
            error_x={
                "type": "data", "symmetric": False, "color": "#222", "thickness": 1.5,
                "array": (frame["high"] - frame["roi"]).fillna(0).tolist(),
                "arrayminus": (frame["roi"] - frame["low"]).fillna(0).tolist(),
            },
            customdata=frame[["low", "high"]].to_numpy(),
            hovertemplate="%{y}<br>ROI %{x:,.2f}×<br>95% interval [%{customdata[0]:,.2f}, %{customdata[1]:,.2f}]"
            "<extra></extra>",
        )
    )
    models = ", ".join(sorted({str(model) for model in frame["attribution_model"].dropna()}))
    _layout(
        figure,
        f"ROI by workflow, all time (median lift per successful run ÷ CPST; {models or 'attribution'} attribution)",
        height=150 + 30 * len(frame),
        xaxis={"title": {"text": "ROI (× cost per successful task), 95% interval"}, "zeroline": True},
        yaxis={"title": {"text": "workflow"}},
        showlegend=False,
    )
    note = "Lift is attributed revenue minus the matched manual baseline's revenue."
    upper = _roi_upper_bounds(conn, mart, c)
    if upper:
        named = ", ".join(f"{workflow} ({runs:,} runs)" for workflow, runs in upper)
        note += (
            f" Overstated (nearer 0 in truth) for {named}: runs with a call of unknown cost count only their known "
            "cost in the CPST, so rank these once their models are priced."
        )
    if unknown:
        note += f" Not enough data for an ROI: {', '.join(map(str, unknown))}."
    return Rendered(figure=figure, note=note)


def _roi_upper_bounds(conn: duckdb.DuckDBPyConnection, mart: str, c: dict[str, str]) -> list[tuple[str, int]]:
    """Workflows whose all-time ROI is an upper bound, with their runs of unknown cost.

    A snapshot published before `unpriced_runs` existed has none to name: its ROI chart still draws.
    """
    try:
        return conn.execute(
            f"select workflow, unpriced_runs from {quote_identifier(mart)} "
            f"where {_ident(c, 'period')} = 'all' and unpriced_runs > 0 and roi is not null order by workflow"
        ).fetchall()
    except duckdb.BinderException:
        return []


def cache_savings(conn: duckdb.DuckDBPyConnection, mart: str, c: dict[str, str]) -> Rendered:
    """Savings from prompt caching per workflow and month, stacked."""
    frame = _frame(
        conn,
        f"""
        select {_ident(c, 'workflow')} as workflow, cast({_ident(c, 'month')} as date) as month,
               {_ident(c, 'savings')} as savings, {_ident(c, 'cpst_reduction_pct')} as reduction
        from {quote_identifier(mart)}
        order by month, workflow
        """,
    )
    frame = frame.astype({"savings": "float64", "reduction": "float64"})
    total = frame["savings"].sum()
    figure = go.Figure()
    for name in frame.groupby("workflow")["savings"].sum().sort_values(ascending=False).index:
        part = frame[frame["workflow"] == name]
        figure.add_bar(
            x=part["month"], y=part["savings"], name=str(name), customdata=part[["reduction"]].to_numpy(),
            hovertemplate=f"{html.escape(str(name))}<br>%{{x|%b %Y}}: saved $%{{y:,.2f}}"
            "<br>CPST %{customdata[0]:.1f}% lower than uncached<extra></extra>",
        )
    _layout(
        figure,
        "Cache savings by workflow and month (USD saved vs. the same tokens without caching)",
        height=460,
        barmode="stack",
        xaxis={"title": {"text": "month"}, "tickformat": "%b %Y", "dtick": "M1"},
        yaxis={"title": {"text": "saved (USD)"}, "tickprefix": "$"},
    )
    return Rendered(figure=figure, note=f"Caching saved ${total:,.2f} over the period shown.")


def spend_by_model(conn: duckdb.DuckDBPyConnection, mart: str, c: dict[str, str]) -> Rendered:
    """LLM spend per day (or ISO week over long ranges) stacked by provider / model."""
    table = quote_identifier(mart)
    started = _ident(c, "started_at")
    days = conn.execute(f"select date_diff('day', min({started}), max({started})) + 1 from {table}").fetchone()[0]
    if days is None:
        raise NoRows
    grain = "day" if days <= MAX_DAILY_BARS else "week"
    # the price book's model id merges dated snapshots (claude-sonnet-4-5-20250929 → claude-sonnet-4-5)
    model = _ident(c, "model")
    if "price_model_id?" in c:
        model = f"coalesce({_ident(c, 'price_model_id?')}, {model})"
    frame = _frame(
        conn,
        f"""
        select cast(date_trunc('{grain}', {started}) as date) as period,
               coalesce({_ident(c, 'provider')}, 'unknown provider') || ' / ' || {model} as model,
               sum({_ident(c, 'cost_usd')}) as cost_usd,
               count(*) filter (where {_ident(c, 'cost_usd')} is null) as unpriced_calls
        from {table}
        group by all
        order by period, model
        """,
    )
    unpriced = int(frame["unpriced_calls"].sum())
    # a model with no price at all has no bar: its spend is unknown, not $0
    frame = frame.astype({"cost_usd": "float64"}).dropna(subset=["cost_usd"])
    if frame.empty:
        raise NoRows
    figure = go.Figure(
        _stacked_bars(
            frame, "period", "cost_usd", "model", "%{fullData.name}<br>%{x|%d %b %Y}: $%{y:,.2f}<extra></extra>"
        )
    )
    per = "day" if grain == "day" else "ISO week"
    _layout(
        figure,
        f"LLM spend by provider / model per {per} (USD, rack rate)",
        height=480,
        barmode="stack",
        xaxis={"title": {"text": per}, "tickformat": "%d %b", **_day_ticks(frame["period"])},
        yaxis={"title": {"text": f"spend per {per} (USD)"}, "tickprefix": "$"},
    )
    note = f"{unpriced:,} calls on models without a price are not in these bars (their cost is unknown, not $0)."
    return Rendered(figure=figure, note=note if unpriced else "Every call in the period has a price.")


def spend_by_category(conn: duckdb.DuckDBPyConnection, mart: str, c: dict[str, str]) -> Rendered:
    """Spend per month stacked by category (fixed / variable / investment)."""
    frame = _frame(
        conn,
        f"""
        select cast({_ident(c, 'month')} as date) as month, {_ident(c, 'category')} as category,
               sum({_ident(c, 'spend')}) as spend
        from {quote_identifier(mart)}
        group by all
        order by month, category
        """,
    )
    frame = frame.astype({"spend": "float64"})
    figure = go.Figure(
        _stacked_bars(frame, "month", "spend", "category", "%{fullData.name}<br>%{x|%b %Y}: $%{y:,.2f}<extra></extra>")
    )
    _layout(
        figure,
        "Spend by category per month (USD)",
        height=440,
        barmode="stack",
        xaxis={"title": {"text": "month"}, "tickformat": "%b %Y", "dtick": "M1"},
        yaxis={"title": {"text": "spend (USD)"}, "tickprefix": "$"},
    )
    return Rendered(figure=figure)


def reconciliation_gaps(conn: duckdb.DuckDBPyConnection, mart: str, c: dict[str, str]) -> Rendered:
    """Untraced spend per provider and day, and the traced-vs-reported token gap per provider / model."""
    table = quote_identifier(mart)
    frame = _frame(
        conn,
        f"""
        select cast({_ident(c, 'usage_date')} as date) as usage_date, {_ident(c, 'provider')} as provider,
               {_ident(c, 'model')} as model, {_ident(c, 'untraced_spend')} as untraced,
               {_ident(c, 'token_gap_pct')} as gap_pct
        from {table}
        order by usage_date, provider, model
        """,
    )
    frame = frame.astype({"untraced": "float64", "gap_pct": "float64"})
    untraced = frame.groupby(["usage_date", "provider"], as_index=False)["untraced"].sum()
    figure = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
        subplot_titles=("Untraced spend (billed cost no trace explains), USD per day",
                        "Token gap, traced vs. provider-reported (% of reported)"),
    )
    for trace in _stacked_bars(untraced, "usage_date", "untraced", "provider",
                               "%{fullData.name}<br>%{x|%d %b %Y}: $%{y:,.2f} untraced<extra></extra>"):
        figure.add_trace(trace, row=1, col=1)
    frame["series"] = frame["provider"].astype(str) + " / " + frame["model"].fillna("(all models)").astype(str)
    for name, part in frame.groupby("series"):
        figure.add_trace(
            go.Scatter(
                x=part["usage_date"], y=part["gap_pct"], mode="lines+markers", name=str(name), legendgroup="gap",
                hovertemplate=f"{html.escape(str(name))}<br>%{{x|%d %b %Y}}: %{{y:.1f}}%<extra></extra>",
            ),
            row=2, col=1,
        )
    _layout(figure, "Reconciliation gaps: what the provider billed vs. what the traces explain", height=720,
            barmode="stack")
    figure.update_yaxes(title_text="USD", tickprefix="$", row=1, col=1)
    figure.update_yaxes(title_text="gap (%)", ticksuffix="%", row=2, col=1)
    figure.update_xaxes(title_text="usage day (UTC)", tickformat="%d %b", row=2, col=1)
    figure.update_xaxes(**_day_ticks(frame["usage_date"]))
    figure.update_layout(legend={"y": -0.12, "yanchor": "top"}, margin={"b": 140})
    return Rendered(figure=figure, note=f"Untraced spend over the period: ${frame['untraced'].sum():,.2f}.")


def anomaly_table(conn: duckdb.DuckDBPyConnection, mart: str, c: dict[str, str]) -> Rendered:
    """The latest findings (last 7 days of detections), each with its explanation."""
    table = quote_identifier(mart)
    detected = _ident(c, "detected_on")
    cursor = conn.execute(
        f"""
        select {detected} as detected_on, {_ident(c, 'anomaly_type')} as anomaly_type,
               {_ident(c, 'workflow')} as workflow, {_ident(c, 'run_id')} as run_id,
               {_ident(c, 'severity')} as severity, {_ident(c, 'observed')} as observed,
               {_ident(c, 'expected')} as expected, {_ident(c, 'explanation')} as explanation
        from {table}
        where {detected} >= (select max({detected}) from {table}) - interval {ANOMALY_DAYS} day
        order by {detected} desc,
                 case {_ident(c, 'severity')} when 'high' then 0 when 'medium' then 1 else 2 end,
                 anomaly_type, workflow
        limit {ANOMALY_ROWS}
        """
    )
    names = [column[0] for column in cursor.description]
    rows = cursor.fetchall()
    if not rows:
        raise NoRows
    head = "".join(f"<th>{html.escape(name.replace('_', ' '))}</th>" for name in names)
    body = "".join(
        "<tr>" + "".join(f"<td class='{name}'>{html.escape('' if value is None else str(value))}</td>"
                         for name, value in zip(names, row, strict=True)) + "</tr>"
        for row in rows
    )
    table_html = (
        f"<div class='table-wrap'><table class='findings'><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
    )
    findings = "1 finding" if len(rows) == 1 else f"{len(rows)} findings"
    note = f"{findings} from the last {ANOMALY_DAYS} days of detections, newest first, most severe first within a day."
    return Rendered(table_html=table_html, note=note)


# Marts are published by separate pieces of work; each section names the columns it reads (DESIGN §5).
SECTIONS: list[SectionSpec] = [
    SectionSpec(
        id="cpst_by_workflow", title="Cost per successful task", mart="mart_unit_economics",
        columns={
            "workflow": ("workflow",), "period": ("period",), "cpst": ("cost_per_successful_task_usd",),
            "true_cpst": ("true_cost_per_successful_task_usd",), "median": ("median_run_cost_usd",),
            "ci_low": ("median_run_cost_ci_low_usd",), "ci_high": ("median_run_cost_ci_high_usd",),
            "runs": ("runs",), "successful_runs": ("successful_runs",),
        },
        build=cpst_by_workflow,
        what="What each workflow costs per task it actually completes: failed runs' spend is spread over the "
        "successes, and true CPST adds the human rework failures cause.",
    ),
    SectionSpec(
        id="roi_ranking", title="ROI ranking", mart="mart_workflow_roi",
        columns={
            "workflow": ("workflow",), "period": ("period",), "roi": ("roi",), "roi_ci_low": ("roi_ci_low",),
            "roi_ci_high": ("roi_ci_high",), "attribution_model": ("attribution_model",),
        },
        build=roi_ranking,
        what="Which workflows earn more than they cost: revenue lift per successful run against a manual "
        "baseline, divided by the cost per successful task.",
    ),
    SectionSpec(
        id="cache_savings", title="Cache savings", mart="mart_cache_savings",
        columns={
            "workflow": ("workflow",), "month": ("month",), "savings": ("savings_usd",),
            "cpst_reduction_pct": ("cpst_reduction_pct",),
        },
        build=cache_savings,
        what="What prompt caching saved: the same tokens priced without cache reads and writes, minus the actual cost.",
    ),
    SectionSpec(
        id="spend_by_model", title="Spend by model over time", mart="fct_llm_calls",
        columns={
            "started_at": ("started_at",), "provider": ("provider",), "model": ("model",), "cost_usd": ("cost_usd",),
            "price_model_id?": ("price_model_id",),
        },
        build=spend_by_model,
        what="Where the money goes, model by model, at the price in force when each call started.",
    ),
    SectionSpec(
        id="spend_by_category", title="Spend by category over time", mart="mart_spend_by_category",
        columns={
            "month": ("month",), "category": ("cost_category",), "spend": ("cost_usd",),
        },
        build=spend_by_category,
        what="Spend split into fixed, variable and investment work, from the workflow catalog.",
    ),
    SectionSpec(
        id="reconciliation", title="Reconciliation gaps", mart="mart_provider_reconciliation",
        columns={
            "usage_date": ("usage_date",), "provider": ("provider",), "model": ("model",),
            "untraced_spend": ("untraced_spend_usd",), "token_gap_pct": ("token_gap_pct",),
        },
        build=reconciliation_gaps,
        what="Whether the traces explain the bill: spend the providers billed that no trace accounts for, and "
        "token totals that differ between the two sides.",
    ),
    SectionSpec(
        id="anomalies", title="Latest anomaly findings", mart="mart_cost_anomalies",
        columns={
            "detected_on": ("detected_on",), "anomaly_type": ("anomaly_type",), "workflow": ("workflow",),
            "run_id": ("run_id",), "severity": ("severity",), "observed": ("observed",),
            "expected": ("expected",), "explanation": ("explanation",),
        },
        build=anomaly_table,
        what="Cost patterns that need a person: loops, growing context, spend that outcomes do not follow.",
    ),
]


# --- assembly -----------------------------------------------------------------------------------


def resolve_columns(
    conn: duckdb.DuckDBPyConnection, mart: str, wanted: dict[str, tuple[str, ...]]
) -> tuple[dict[str, str] | None, str]:
    """Map each role to the first accepted column the mart has; (None, reason) when a required one is missing."""
    present = {
        row[0]
        for row in conn.execute(
            "select column_name from duckdb_columns() where database_name = current_database() "
            "and schema_name = 'main' and table_name = ?",
            [mart],
        ).fetchall()
    }
    if not present:
        return None, f"the mart `{mart}` is not in this snapshot yet"
    resolved = {role: next((name for name in names if name in present), None) for role, names in wanted.items()}
    # a role ending in "?" is optional: the section draws without it
    missing = [" or ".join(wanted[role]) for role, name in resolved.items() if name is None and not role.endswith("?")]
    if missing:
        return None, f"the mart `{mart}` has no column {', '.join(f'`{m}`' for m in missing)}"
    return {role: name for role, name in resolved.items() if name is not None}, ""


def render_section(conn: duckdb.DuckDBPyConnection, spec: SectionSpec) -> SectionResult:
    """Draw one section, or say why it cannot be drawn."""
    columns, reason = resolve_columns(conn, spec.mart, spec.columns)
    if columns is None:
        return SectionResult(spec=spec, status="unavailable", reason=reason)
    try:
        rendered = spec.build(conn, spec.mart, columns)
    except NoRows:
        return SectionResult(spec=spec, status="empty", reason=f"`{spec.mart}` has no rows to show yet")
    if rendered.figure is not None:
        body = rendered.figure.to_html(
            full_html=False, include_plotlyjs=False, div_id=f"chart-{spec.id}", config=PLOT_CONFIG
        )
        return SectionResult(spec=spec, status="chart", body=body, note=rendered.note)
    return SectionResult(spec=spec, status="table", body=rendered.table_html or "", note=rendered.note)


def _snapshot_facts(conn: duckdb.DuckDBPyConnection) -> str:
    """One line under the title: when the snapshot was built and over which days."""
    exists = conn.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() and table_name = ?",
        [INFO_TABLE],
    ).fetchone()[0]
    if not exists:
        return "snapshot of unknown age"
    built_at, first, last, tables = conn.execute(
        f"select built_at, first_partition_date, last_partition_date, published_tables from {INFO_TABLE}"
    ).fetchone()
    window = f" · last run covered {first} to {last}" if first is not None else ""
    return f"snapshot built {built_at:%Y-%m-%d %H:%M} UTC{window} · {len(tables)} marts published"


CSS = """
body { font-family: FONT; margin: 0; color: #1d2330; background: #f6f7f9; }
header { background: #1d2330; color: #fff; padding: 22px 32px; }
header h1 { margin: 0 0 4px 0; font-size: 24px; }
header p { margin: 0; color: #c8cdd8; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 24px 60px; }
nav ol { columns: 2; margin: 8px 0 0 0; }
.report-section, .overview { background: #fff; border: 1px solid #e1e4ea; border-radius: 8px;
  padding: 16px 20px; margin: 18px 0; }
.report-section h2 { margin: 0 0 4px 0; font-size: 19px; }
.what { margin: 0 0 10px 0; color: #4a5262; }
.note { margin: 8px 0 0 0; color: #4a5262; font-size: 14px; }
.unavailable-list li { margin: 4px 0; }
.missing { color: #8a5300; }
.table-wrap { overflow-x: auto; }
table.findings { border-collapse: collapse; width: 100%; font-size: 13px; }
table.findings th { text-align: left; background: #eef0f4; padding: 6px 8px; white-space: nowrap; }
table.findings td { border-top: 1px solid #e1e4ea; padding: 6px 8px; vertical-align: top; }
table.findings td.explanation { min-width: 320px; }
footer { color: #6b7383; font-size: 13px; margin-top: 30px; }
code { background: #eef0f4; padding: 1px 4px; border-radius: 3px; }
""".replace("FONT", FONT)


def _section_html(section: SectionResult) -> str:
    spec = section.spec
    parts = [
        f"<section class='report-section' id='{spec.id}' data-status='{section.status}' data-mart='{spec.mart}'>",
        f"<h2>{html.escape(spec.title)}</h2>",
        f"<p class='what'>{html.escape(spec.what)}</p>",
    ]
    if section.status in ("chart", "table"):
        parts.append(section.body)
        if section.note:
            parts.append(f"<p class='note'>{html.escape(section.note)}</p>")
    else:
        label = "Not available" if section.status == "unavailable" else "Nothing to show"
        parts.append(f"<p class='missing'><strong>{label}:</strong> {_inline_code(section.reason)}.</p>")
    parts.append("</section>")
    return "\n".join(parts)


def _inline_code(text: str) -> str:
    """Escape `text`, then render `backticked` names as code."""
    pieces = html.escape(text).split("`")
    return "".join(f"<code>{piece}</code>" if index % 2 else piece for index, piece in enumerate(pieces))


def render_report(
    conn: duckdb.DuckDBPyConnection, sections: list[SectionSpec] | None = None
) -> tuple[str, list[SectionResult]]:
    """The whole page and what each section became."""
    results = [render_section(conn, spec) for spec in (sections or SECTIONS)]
    missing = [result for result in results if result.status in ("unavailable", "empty")]
    toc = "".join(
        f"<li><a href='#{r.spec.id}'>{html.escape(r.spec.title)}</a>"
        + ("" if r.status in ("chart", "table") else " <span class='missing'>(not available)</span>")
        + "</li>"
        for r in results
    )
    unavailable = (
        "<p><strong>Sections not available in this report</strong> (each appears once its mart is published):</p>"
        "<ul class='unavailable-list'>"
        + "".join(f"<li>{html.escape(r.spec.title)}: {_inline_code(r.reason)}.</li>" for r in missing)
        + "</ul>"
        if missing
        else "<p>Every section of the report is available.</p>"
    )
    generated = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M")
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="agentledger report">
<title>agentledger report: unit economics of AI agent workflows</title>
<style>{CSS}</style>
<script>{plotly.offline.get_plotlyjs()}</script>
</head>
<body>
<header>
<h1>agentledger: unit economics of AI agent workflows</h1>
<p>{html.escape(_snapshot_facts(conn))} · money in USD at rack rate unless marked</p>
</header>
<main>
<div class="overview" id="overview">
<nav><strong>Contents</strong><ol>{toc}</ol></nav>
<div id="unavailable">{unavailable}</div>
</div>
{chr(10).join(_section_html(result) for result in results)}
<footer>Generated {generated} UTC by <code>agentledger report</code> from the read-only snapshot
<code>marts.duckdb</code>. This file is self-contained (plotly.js is embedded): it opens without a network.</footer>
</main>
</body>
</html>
"""
    return page, results


def write_report(snapshot_path: Path, output_path: Path) -> ReportSummary:
    """Render the report from `snapshot_path` into `output_path` (written to a .tmp file, then renamed).

    Raises:
        FileNotFoundError: There is no snapshot yet (no nightly run has published one).
        ValueError: DuckDB cannot open the snapshot (not a DuckDB file, or held by a writer), or
            `output_path` is a folder.
    """
    if output_path.is_dir():
        raise ValueError(f"{output_path} is a folder: name the report's file, e.g. {output_path / 'report.html'}")
    if not snapshot_path.exists():
        raise FileNotFoundError(
            f"no snapshot at {snapshot_path}: run `agentledger run` (or `agentledger demo`) to publish one first"
        )
    try:
        conn = duckdb.connect(str(snapshot_path), read_only=True)
    except duckdb.Error as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"cannot open the snapshot {snapshot_path} with DuckDB: {reason}") from error
    with conn:
        page, results = render_report(conn)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = output_path.with_name(output_path.name + ".tmp")
    try:
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, output_path)
    except OSError:  # a file that may not be replaced, a full disk: no half-written page left behind
        tmp.unlink(missing_ok=True)
        raise
    return ReportSummary(path=output_path, sections=results, bytes=output_path.stat().st_size)


def published_summary(db_path: Path) -> str:
    """The demo's closing lines about what was published (a DEMO_REPORT_SECTIONS entry)."""
    from orchestration.settings import get_settings

    settings = get_settings()
    if not settings.snapshot_path.exists():
        return ""
    with duckdb.connect(str(settings.snapshot_path), read_only=True) as conn:
        marts = conn.execute(f"select published_tables from {INFO_TABLE}").fetchone()[0]
    lines = [
        f"published {len(marts)} marts for BI tools: {settings.snapshot_path}  (and Parquet in {settings.parquet_dir})",
        f"  query:  duckdb -readonly {settings.snapshot_path}   (never the warehouse: it locks out the nightly run)",
    ]
    if settings.report_path.exists():
        lines.append(f"report with charts: {settings.report_path}  (open it in a browser; no network needed)")
    return "\n".join(lines)
