"""What the demo agency runs: its workflows, models, client accounts and how each workflow behaves.

A workflow's behaviour is a *planner*: given a random stream, the day's conditions and an effort
tier, it returns the run's plan (agent blocks of LLM calls and tool calls with token counts).
`traces.py` turns a plan into spans; the planners never see ids, clocks or conventions.

Sizes follow reference/domain.md: email triage ≈ $0.07 a run, SEO audit ≈ $4.20 with a cached
site context, competitor analysis ≈ $12.40 with a long, cached corpus and extended thinking, code
review tiered cheap → mid → top model. Each planner's token counts are multiplied by a per-workflow
`volume` that `calibrated_volumes()` solves for, pricing simulated runs with genai-prices (the
pipeline's own price source), so the medians land on `target_median_cost_usd` even when a
planner's shape changes. Sizes that carry meaning of their own (a ~30k-token system prompt, a
corpus above the 200k long-context tier, coordination calls of 200–2,000 tokens) are absolute.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from random import Random
from typing import Any

# ---------------------------------------------------------------------------------------------
# Instrumentation conventions (reference §D): each service is instrumented one way.
# ---------------------------------------------------------------------------------------------
SEMCONV = "semconv"  # current OTel GenAI semantic conventions (gen_ai.provider.name, dot cache attrs)
OPENLLMETRY_LEGACY = "openllmetry_legacy"  # traceloop-sdk <= 0.53 (gen_ai.system, prompt/completion tokens)
OPENINFERENCE = "openinference"  # Arize OpenInference (llm.token_count.*)
OPENAI_V2_LEGACY = "openai_v2_legacy"  # opentelemetry-instrumentation-openai-v2, default mode
CONVENTIONS = (SEMCONV, OPENLLMETRY_LEGACY, OPENINFERENCE, OPENAI_V2_LEGACY)


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Model:
    """One model as the demo calls it.

    Attributes:
        name: The id requested (`gen_ai.request.model`).
        provider: Canonical provider id (genai-prices ids; `vllm` for the self-hosted model).
        snapshot: Dated id the API may report back as `gen_ai.response.model`.
        snapshot_share: Share of calls whose response names the snapshot rather than the alias
            (OpenAI always answers with the snapshot; Anthropic echoes what was requested).
        tokens_per_second: Output speed, for realistic span durations.
        first_token_s: Latency before the first token.
        priced: False for the self-hosted fine-tune no price list knows.
    """

    name: str
    provider: str
    snapshot: str | None
    snapshot_share: float
    tokens_per_second: float
    first_token_s: float
    priced: bool = True


MODELS: dict[str, Model] = {
    m.name: m
    for m in (
        Model("claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5-20250929", 0.6, 70.0, 1.2),
        Model("claude-haiku-4-5", "anthropic", "claude-haiku-4-5-20251001", 0.6, 150.0, 0.5),
        Model("claude-opus-4-1", "anthropic", "claude-opus-4-1-20250805", 0.6, 35.0, 2.0),
        Model("gpt-5", "openai", "gpt-5-2025-08-07", 1.0, 60.0, 1.5),
        Model("gpt-5-mini", "openai", "gpt-5-mini-2025-08-07", 1.0, 110.0, 0.8),
        Model("gpt-5-nano", "openai", "gpt-5-nano-2025-08-07", 1.0, 180.0, 0.4),
        Model("gpt-4.1", "openai", "gpt-4.1-2025-04-14", 1.0, 90.0, 0.6),
        Model("o3", "openai", "o3-2025-04-16", 1.0, 50.0, 2.0),
        Model("gemini-2.5-pro", "google", None, 0.0, 80.0, 1.8),
        Model("gemini-2.5-flash", "google", None, 0.0, 200.0, 0.5),
        Model("deepseek-chat", "deepseek", None, 0.0, 40.0, 0.9),
        Model("deepseek-reasoner", "deepseek", None, 0.0, 35.0, 1.5),
        Model("acme-coder-ft-v2", "vllm", None, 0.0, 120.0, 0.3, priced=False),
    )
}
UNPRICED_MODEL = "acme-coder-ft-v2"


# ---------------------------------------------------------------------------------------------
# Client accounts: ~30, a few tagged with the CRM company id itself (DESIGN §4 attribution)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Account:
    """A client account as runs tag it (`client.account_id`).

    Attributes:
        account_id: The tag on the root span.
        segment: `marketing`, `dev` or `both`: which workflows serve it.
        weight: Relative run volume (a few big clients, a long tail).
    """

    account_id: str
    segment: str
    weight: float


ACCOUNTS: tuple[Account, ...] = (
    Account("acct_northwind", "both", 9.0),
    Account("acct_globex", "both", 8.0),
    Account("acct_initech", "dev", 6.0),
    Account("acct_umbrella", "marketing", 6.0),
    Account("acct_hooli", "dev", 7.0),
    Account("acct_piedpiper", "dev", 4.0),
    Account("acct_soylent", "marketing", 3.0),
    Account("acct_wonka", "marketing", 5.0),
    Account("acct_stark", "both", 7.0),
    Account("acct_wayne", "marketing", 4.0),
    Account("acct_tyrell", "dev", 3.0),
    Account("acct_cyberdyne", "dev", 2.5),
    Account("acct_aperture", "both", 3.5),
    Account("acct_blackmesa", "dev", 2.0),
    Account("acct_gringotts", "marketing", 2.5),
    Account("acct_oscorp", "marketing", 3.0),
    Account("acct_monarch", "marketing", 1.5),
    Account("acct_vandelay", "marketing", 2.0),
    Account("acct_dundermifflin", "marketing", 3.0),
    Account("acct_bluthco", "both", 1.5),
    Account("acct_prestige", "marketing", 1.0),
    Account("acct_sterlingcooper", "marketing", 2.0),
    Account("acct_massive", "dev", 1.5),
    Account("acct_nakatomi", "both", 1.0),
    Account("acct_internal", "dev", 2.0),  # the agency's own tooling: no CRM deals
    Account("hs_company_4821730", "marketing", 2.5),
    Account("hs_company_5190283", "both", 2.0),
    Account("hs_company_6034417", "marketing", 1.5),
    Account("hs_company_7712095", "dev", 1.5),
    Account("hs_company_8350164", "marketing", 1.0),
)


# ---------------------------------------------------------------------------------------------
# Plans
# ---------------------------------------------------------------------------------------------
@dataclass(slots=True)
class LLMCall:
    """One model call with its usage in disjoint kinds.

    Attributes:
        model: Key into `MODELS`.
        uncached: Input tokens neither read from nor written to a cache.
        output: Output tokens, reasoning included.
        cache_read: Input tokens read from a prompt cache.
        write_5m: Input tokens written to a 5-minute cache.
        write_1h: Input tokens written to a 1-hour cache.
        reasoning: Reasoning tokens (a subset of `output`).
        prompt_name: `gen_ai.prompt.name` (coordination calls: route_task, handoff, …).
        agent: Agent name set on the call span itself (the orchestrator's coordination calls).
        attributes: Extra request attributes (e.g. the system-prompt hash).
    """

    model: str
    uncached: int
    output: int
    cache_read: int = 0
    write_5m: int = 0
    write_1h: int = 0
    reasoning: int = 0
    prompt_name: str | None = None
    agent: str | None = None
    attributes: dict[str, Any] | None = None

    @property
    def input_total(self) -> int:
        """All input tokens, cache read and writes included (what long-context tiers look at)."""
        return self.uncached + self.cache_read + self.write_5m + self.write_1h


@dataclass(slots=True)
class ToolCall:
    """A tool execution (no usage): `execute_tool <name>`."""

    name: str
    ms: int


@dataclass(slots=True)
class AgentBlock:
    """Steps run by one agent (`invoke_agent <agent>`), or directly under the root when agent is None."""

    agent: str | None
    steps: list[LLMCall | ToolCall] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Conditions:
    """What is different about a workflow on one day: the planted anomalies (DESIGN §4).

    Attributes:
        history_days: Days into a context-bloat window (client_report): each call re-sends
            that many days of accumulated history, uncached.
        trend_days: Days into a cost-creep window (content_brief): longer drafts, more revision
            passes, same outcomes.
        effort_override: Every run at this effort (ticket_triage switched to `high`).
        dispersion: Run inputs vary wildly today (ad_copy_iteration).
        no_cache: The stable system prompt is re-sent without caching (pr_backlink_outreach).
        oversized_share: Share of runs that stuff a whole crawl (> 200k tokens) into one call
            (lead_enrichment).
        outlier: Today holds competitor_analysis's one ~$87 deep-dive run.
        loop: Today holds seo_audit's looping run.
    """

    history_days: int = 0
    trend_days: int = 0
    effort_override: str | None = None
    dispersion: bool = False
    no_cache: bool = False
    oversized_share: float = 0.0
    outlier: bool = False
    loop: bool = False


NORMAL = Conditions()

Planner = Callable[[Random, Conditions, float, float], list[AgentBlock]]


def ln(rng: Random, median: float, sigma: float = 0.35) -> int:
    """A log-normal token count: token sizes are right-skewed (a few long threads, many short)."""
    return max(1, int(median * math.exp(rng.gauss(0.0, sigma))))


def ms(rng: Random, low: int, high: int) -> int:
    """A tool latency in milliseconds (uniform; `randint` would cost three times as much)."""
    return low + int(rng.random() * (high - low + 1))


def reasoning_multiplier(rng: Random, effort: str | None) -> float:
    """Reasoning tokens relative to medium effort: high costs 6–9× medium (domain.md)."""
    if effort == "high":
        return rng.uniform(6.0, 9.0)
    if effort == "low":
        return rng.uniform(0.2, 0.4)
    return 1.0


# Coordination overhead per decision, in total tokens (domain.md: multi-agent overhead).
COORDINATION_TOKENS = {"route_task": (200, 500), "handoff": (500, 2000), "summarize_for_handoff": (300, 1000)}


def coordination(rng: Random, model: str, prompt: str) -> LLMCall:
    """An orchestrator call that routes, hands off or summarizes for a hand-off."""
    low, high = COORDINATION_TOKENS[prompt]
    total = rng.randint(low, high)
    output = max(20, int(total * (0.12 if prompt == "route_task" else 0.3)))
    return LLMCall(model, uncached=total - output, output=output, prompt_name=prompt, agent="orchestrator")


def handoff(rng: Random, model: str, summarize_share: float = 0.5) -> list[LLMCall]:
    """A hand-off between agents, sometimes preceded by a summary of the work so far."""
    calls = []
    if rng.random() < summarize_share:
        calls.append(coordination(rng, model, "summarize_for_handoff"))
    calls.append(coordination(rng, model, "handoff"))
    return calls


def with_reasoning(model: str, uncached: int, visible: int, reasoning: int, **kwargs: Any) -> LLMCall:
    """A call whose output is `visible` text plus `reasoning` tokens (reported inside output)."""
    return LLMCall(model, uncached=uncached, output=visible + reasoning, reasoning=reasoning, **kwargs)


# ---------------------------------------------------------------------------------------------
# Planners, one per workflow
# ---------------------------------------------------------------------------------------------
def plan_email_triage(rng: Random, cond: Conditions, vol: float, effort_mult: float) -> list[AgentBlock]:
    """Single pass: read the thread, classify and draft in one gpt-4.1 call; no cache benefit."""
    steps: list[LLMCall | ToolCall] = [ToolCall("fetch_thread", ms(rng, 120, 900))]
    steps.append(LLMCall("gpt-4.1", uncached=ln(rng, 25000 * vol, 0.45), output=ln(rng, 1800 * vol, 0.35)))
    if rng.random() < 0.12:  # long threads: look up the knowledge base and draft a reply
        steps.append(ToolCall("search_kb", ms(rng, 80, 400)))
        steps.append(LLMCall("gpt-4.1", uncached=ln(rng, 8000 * vol), output=ln(rng, 900 * vol)))
    steps.append(ToolCall("apply_labels", ms(rng, 40, 200)))
    return [AgentBlock(None, steps)]


def plan_ticket_triage(rng: Random, cond: Conditions, vol: float, effort_mult: float) -> list[AgentBlock]:
    """Classify a ticket, find similar ones, route it: an easy task where effort buys nothing."""
    return [
        AgentBlock(
            None,
            [
                ToolCall("fetch_ticket", ms(rng, 60, 300)),
                with_reasoning(
                    "gpt-5-mini", ln(rng, 7000 * vol, 0.5), ln(rng, 500 * vol), int(ln(rng, 1200 * vol) * effort_mult)
                ),
                ToolCall("search_similar_tickets", ms(rng, 100, 600)),
                with_reasoning(
                    "gpt-5-mini", ln(rng, 4000 * vol), ln(rng, 200 * vol), int(ln(rng, 600 * vol) * effort_mult)
                ),
                ToolCall("update_ticket", ms(rng, 50, 250)),
            ],
        )
    ]


def plan_lead_enrichment(rng: Random, cond: Conditions, vol: float, effort_mult: float) -> list[AgentBlock]:
    """Look a lead up in several sources and extract CRM fields; every input unique, so no cache.

    On oversized-context days some runs paste the whole crawled site (210k–680k tokens) into one
    gemini-2.5-flash call instead of summarizing page by page; their success rate is unchanged.
    """
    steps: list[LLMCall | ToolCall] = [
        ToolCall("crm_lookup", ms(rng, 80, 400)),
        ToolCall("web_search", ms(rng, 300, 1500)),
    ]
    if cond.oversized_share and rng.random() < cond.oversized_share:
        steps.append(ToolCall("crawl_site", ms(rng, 4000, 15000)))
        steps.append(LLMCall("gemini-2.5-flash", uncached=rng.randint(210_000, 680_000), output=ln(rng, 1800 * vol)))
    else:
        for _ in range(rng.randint(2, 4)):
            steps.append(ToolCall("fetch_page", ms(rng, 200, 2500)))
            steps.append(LLMCall("gemini-2.5-flash", uncached=ln(rng, 40000 * vol, 0.5), output=ln(rng, 2000 * vol)))
    steps.append(with_reasoning("gpt-5-nano", ln(rng, 14000 * vol), ln(rng, 900 * vol), ln(rng, 900 * vol)))
    steps.append(ToolCall("crm_update", ms(rng, 80, 300)))
    return [AgentBlock("enricher", steps)]


def plan_ad_copy_iteration(rng: Random, cond: Conditions, vol: float, effort_mult: float) -> list[AgentBlock]:
    """15+ variants × 3 platforms from the fastest model, ranked by a critic; latency-bound.

    On the inconsistent-inputs day each run's brief size is drawn from a very wide distribution
    (lognormal σ 1.4), so run-to-run cost dispersion jumps for that day only.
    """
    brief = math.exp(rng.gauss(0.0, 1.4)) if cond.dispersion else 1.0
    route = [coordination(rng, "gpt-5-mini", "route_task")]
    writer: list[LLMCall | ToolCall] = [ToolCall("load_brand_voice", ms(rng, 40, 200))]
    critic: list[LLMCall | ToolCall] = []
    for _platform in range(3):
        variants = rng.randint(6, 60) if cond.dispersion else rng.randint(15, 24)
        for _ in range(math.ceil(variants / 8)):
            writer.append(
                with_reasoning(
                    "gpt-5-nano", ln(rng, 4800 * vol * brief, 0.3), ln(rng, 1600 * vol, 0.3), ln(rng, 600 * vol)
                )
            )
        critic.append(
            with_reasoning("gpt-5-mini", ln(rng, 9500 * vol * brief, 0.3), ln(rng, 800 * vol), ln(rng, 900 * vol))
        )
    critic.append(ToolCall("publish_drafts", ms(rng, 100, 500)))
    return [
        AgentBlock(None, route),
        AgentBlock("copywriter", writer),
        AgentBlock(None, handoff(rng, "gpt-5-mini", 0.2)),
        AgentBlock("critic", critic),
    ]


# pr_backlink_outreach's playbook prompt: the same ~30k tokens on every call.
OUTREACH_SYSTEM_TOKENS = 30_412
OUTREACH_SYSTEM_HASH = "sha256:9f2c4e7a1b3d5f60c8e2a4b6d8f0a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5"


def plan_pr_backlink_outreach(rng: Random, cond: Conditions, vol: float, effort_mult: float) -> list[AgentBlock]:
    """Qualify prospects and write personalized pitches, each call carrying the 30k-token playbook.

    Normally the playbook is cached (written on the run's first call, read after). On the planted
    days it is re-sent uncached on every call: the hash is constant, cache reads are zero.
    """
    system = {"gen_ai.request.system_hash": OUTREACH_SYSTEM_HASH}
    first = [True]

    def playbook_call(uncached: int, output: int) -> LLMCall:
        call = LLMCall("claude-sonnet-4-5", uncached=uncached, output=output, attributes=system)
        if cond.no_cache:
            call.uncached += OUTREACH_SYSTEM_TOKENS
        elif first[0] and rng.random() < 0.7:  # the 5-minute cache has usually expired since the last run
            call.write_5m = OUTREACH_SYSTEM_TOKENS
        else:
            call.cache_read = OUTREACH_SYSTEM_TOKENS
        first[0] = False
        return call

    prospector: list[LLMCall | ToolCall] = [ToolCall("search_prospects", ms(rng, 400, 2000))]
    for _ in range(2):
        prospector.append(ToolCall("fetch_page", ms(rng, 200, 2500)))
    prospector.append(playbook_call(ln(rng, 9000 * vol, 0.4), ln(rng, 700 * vol)))
    writer: list[LLMCall | ToolCall] = []
    for _ in range(rng.randint(3, 6)):
        writer.append(ToolCall("fetch_page", ms(rng, 200, 2500)))
        writer.append(playbook_call(ln(rng, 3500 * vol, 0.4), ln(rng, 650 * vol)))
    writer.append(ToolCall("queue_emails", ms(rng, 100, 400)))
    return [
        AgentBlock("prospector", prospector),
        AgentBlock(None, handoff(rng, "claude-haiku-4-5", 0.3)),
        AgentBlock("writer", writer),
    ]


# The audit agent truncates a page so that a call stays below the 200k long-context tier.
SEO_MAX_INPUT = 195_000


def plan_seo_audit(rng: Random, cond: Conditions, vol: float, effort_mult: float) -> list[AgentBlock]:
    """Crawl, audit page by page against a cached site context (1-hour cache), write the report."""
    site_context = min(150_000, ln(rng, 110_000, 0.2))  # absolute: the site, not the page
    pages = rng.randint(6, 12)
    crawler: list[LLMCall | ToolCall] = [ToolCall("fetch_sitemap", ms(rng, 200, 1200))]
    for page in range(pages):
        crawler.append(ToolCall("fetch_page", ms(rng, 300, 3000)))
        if page % 3 == 2 or page == pages - 1:
            crawler.append(LLMCall("claude-haiku-4-5", uncached=ln(rng, 14000 * vol), output=ln(rng, 1200 * vol)))
    auditor: list[LLMCall | ToolCall] = []
    for page in range(pages):
        page_tokens = min(ln(rng, 16000 * vol), SEO_MAX_INPUT - site_context)  # long pages are truncated
        call = with_reasoning(
            "claude-sonnet-4-5", page_tokens, ln(rng, 3500 * vol), int(ln(rng, 8000 * vol) * effort_mult)
        )
        if page == 0 and rng.random() < 0.8:
            call.write_1h = site_context
        else:
            call.cache_read = site_context
        auditor.append(call)
    report = with_reasoning(
        "claude-sonnet-4-5", ln(rng, 40000 * vol), ln(rng, 9000 * vol), int(ln(rng, 7000 * vol) * effort_mult)
    )
    report.write_5m = ln(rng, 6000 * vol)
    writer: list[LLMCall | ToolCall] = [report, ToolCall("publish_report", ms(rng, 100, 600))]
    return [
        AgentBlock(None, [coordination(rng, "claude-haiku-4-5", "route_task")]),
        AgentBlock("crawler", crawler),
        AgentBlock(None, handoff(rng, "claude-haiku-4-5")),
        AgentBlock("auditor", auditor),
        AgentBlock(None, handoff(rng, "claude-haiku-4-5")),
        AgentBlock("writer", writer),
    ]


SEO_LOOP_PAGE_CONTEXT = 7000


def seo_loop_calls(rng: Random, site_context: int, count: int) -> list[LLMCall | ToolCall]:
    """An auditor stuck re-auditing one page: the same fetch and call, the transcript growing."""
    steps: list[LLMCall | ToolCall] = []
    for i in range(count):
        steps.append(ToolCall("fetch_page", ms(rng, 300, 3000)))
        call = with_reasoning(
            "claude-sonnet-4-5", SEO_LOOP_PAGE_CONTEXT + min(i, 60) * 900, ln(rng, 1400), ln(rng, 3500)
        )
        call.cache_read = site_context
        steps.append(call)
    return steps


def plan_competitor_analysis(rng: Random, cond: Conditions, vol: float, effort_mult: float) -> list[AgentBlock]:
    """Research, then analyse against a long cached corpus (often past the 200k tier), then synthesize."""
    corpus = ln(rng, 240_000, 0.3)  # absolute: most runs cross the long-context tier
    researcher: list[LLMCall | ToolCall] = [ToolCall("web_search", ms(rng, 400, 1500)) for _ in range(2)]
    researcher += [ToolCall("fetch_page", ms(rng, 300, 3000)) for _ in range(rng.randint(3, 6))]
    researcher.append(
        with_reasoning(
            "gemini-2.5-pro", int(ln(rng, 150_000, 0.45)), ln(rng, 4000 * vol), int(ln(rng, 3000 * vol) * effort_mult)
        )
    )
    for _ in range(2):
        researcher.append(LLMCall("claude-haiku-4-5", uncached=ln(rng, 20000 * vol), output=ln(rng, 1500 * vol)))
    analyst: list[LLMCall | ToolCall] = []
    for i in range(rng.randint(10, 16)):
        call = with_reasoning(
            "claude-sonnet-4-5",
            ln(rng, 20000 * vol),
            ln(rng, 5000 * vol),
            min(64_000, int(ln(rng, 8000 * vol) * effort_mult)),
        )
        if i == 0:
            call.write_1h = corpus
        else:
            call.cache_read = corpus
        analyst.append(call)
    strategist: list[LLMCall | ToolCall] = [
        with_reasoning(
            "claude-sonnet-4-5",
            ln(rng, 40000 * vol),
            ln(rng, 6000 * vol),
            min(64_000, int(ln(rng, 8500 * vol) * effort_mult)),
        ),
        ToolCall("publish_brief", ms(rng, 100, 600)),
    ]
    return [
        AgentBlock(None, [coordination(rng, "claude-haiku-4-5", "route_task")]),
        AgentBlock("researcher", researcher),
        AgentBlock(None, handoff(rng, "claude-haiku-4-5")),
        AgentBlock("analyst", analyst),
        AgentBlock(None, handoff(rng, "claude-haiku-4-5")),
        AgentBlock("strategist", strategist),
    ]


def plan_competitor_outlier(rng: Random) -> list[AgentBlock]:
    """The one deep dive: ~900k-token corpus (1M context), every analyst call in the long-context tier.

    It runs for hours at high effort, so the corpus's 1-hour cache lapses and is written again
    three times; 24 analyst passes think ~45k tokens each (Sonnet's output limit is 64k).
    """
    corpus = 880_000 + rng.randint(0, 40_000)
    analyst: list[LLMCall | ToolCall] = []
    for i in range(24):
        call = with_reasoning("claude-sonnet-4-5", ln(rng, 20000, 0.2), ln(rng, 5000, 0.2), ln(rng, 45000, 0.1))
        if i in (0, 7, 14, 20):
            call.write_1h = corpus
        else:
            call.cache_read = corpus
        analyst.append(call)
    researcher: list[LLMCall | ToolCall] = [ToolCall("web_search", ms(rng, 400, 1500)) for _ in range(4)]
    researcher += [ToolCall("fetch_page", ms(rng, 300, 3000)) for _ in range(12)]
    researcher.append(with_reasoning("gemini-2.5-pro", 640_000 + rng.randint(0, 20_000), ln(rng, 6000), ln(rng, 8000)))
    strategist: list[LLMCall | ToolCall] = [
        with_reasoning("claude-sonnet-4-5", ln(rng, 60000), ln(rng, 9000), ln(rng, 40000, 0.1)),
        ToolCall("publish_brief", ms(rng, 100, 600)),
    ]
    return [
        AgentBlock(None, [coordination(rng, "claude-haiku-4-5", "route_task")]),
        AgentBlock("researcher", researcher),
        AgentBlock(None, handoff(rng, "claude-haiku-4-5", 1.0)),
        AgentBlock("analyst", analyst),
        AgentBlock(None, handoff(rng, "claude-haiku-4-5", 1.0)),
        AgentBlock("strategist", strategist),
    ]


# client_report: history re-sent per call per day into the bloat window.
HISTORY_TOKENS_PER_DAY = 4000


def plan_client_report(rng: Random, cond: Conditions, vol: float, effort_mult: float) -> list[AgentBlock]:
    """Read dashboards with a multimodal model, write the narrative with a cached client history.

    In the context-bloat window every call also re-sends the accumulated conversation history,
    uncached, growing by `HISTORY_TOKENS_PER_DAY` a day.
    """
    history = cond.history_days * HISTORY_TOKENS_PER_DAY
    template = int(ln(rng, 48000, 0.15) * vol)
    client_history = int(ln(rng, 80000, 0.2) * vol)
    steps: list[LLMCall | ToolCall] = [
        ToolCall("fetch_ga4", ms(rng, 300, 2000)),
        ToolCall("fetch_ads_metrics", ms(rng, 300, 2000)),
        ToolCall("render_dashboards", ms(rng, 1500, 6000)),
    ]
    for _ in range(3):
        call = with_reasoning(
            "gemini-2.5-pro", ln(rng, 28000 * vol) + history, ln(rng, 5000 * vol), ln(rng, 4000 * vol)
        )
        call.cache_read = template  # Gemini's implicit cache: the report template repeats every month
        steps.append(call)
    for i in range(2):
        call = LLMCall("claude-sonnet-4-5", uncached=ln(rng, 18000 * vol) + history, output=ln(rng, 4400 * vol))
        if i == 0:
            call.write_5m = client_history
        else:
            call.cache_read = client_history
        steps.append(call)
    steps.append(LLMCall("claude-haiku-4-5", uncached=ln(rng, 30000 * vol) + history, output=ln(rng, 1200 * vol)))
    steps.append(ToolCall("send_report", ms(rng, 100, 500)))
    return [AgentBlock("reporter", steps)]


CONTENT_STYLE_GUIDE_TOKENS = 38_000
CONTENT_TREND_PER_DAY = 0.035


def plan_content_brief(rng: Random, cond: Conditions, vol: float, effort_mult: float) -> list[AgentBlock]:
    """SERP research with a cheap model, then outline/draft/revise against a cached style guide.

    In the cost-creep window drafts get longer and revision passes multiply, day by day, while
    the success rate stays where it was.
    """
    creep = 1.0 + CONTENT_TREND_PER_DAY * cond.trend_days
    researcher: list[LLMCall | ToolCall] = [ToolCall("serp_search", ms(rng, 300, 1500))]
    researcher += [ToolCall("fetch_page", ms(rng, 200, 2500)) for _ in range(3)]
    researcher += [
        LLMCall("claude-haiku-4-5", uncached=ln(rng, 32000 * vol * creep), output=ln(rng, 2000 * vol)) for _ in range(2)
    ]
    writer: list[LLMCall | ToolCall] = []
    passes = 3 + int((creep - 1.0) * 2.0 + rng.random())
    for i in range(passes):
        call = LLMCall("claude-sonnet-4-5", uncached=ln(rng, 18000 * vol * creep), output=ln(rng, 5000 * vol * creep))
        if i == 0 and rng.random() < 0.3:  # 1-hour cache, shared across the day's briefs
            call.write_1h = CONTENT_STYLE_GUIDE_TOKENS
        else:
            call.cache_read = CONTENT_STYLE_GUIDE_TOKENS
        writer.append(call)
    writer.append(ToolCall("save_brief", ms(rng, 80, 300)))
    return [
        AgentBlock("researcher", researcher),
        AgentBlock(None, handoff(rng, "claude-haiku-4-5", 0.3)),
        AgentBlock("writer", writer),
    ]


def plan_code_review(rng: Random, cond: Conditions, vol: float, effort_mult: float) -> list[AgentBlock]:
    """Tiered review: haiku on every file, sonnet on the flagged ~30%, opus on the critical few."""
    files = rng.randint(20, 120)
    triager: list[LLMCall | ToolCall] = [ToolCall("fetch_diff", ms(rng, 200, 1500))]
    for _ in range(math.ceil(files / 10)):
        triager.append(LLMCall("claude-haiku-4-5", uncached=ln(rng, 22000 * vol), output=ln(rng, 1300 * vol)))
    flagged = max(1, round(files * rng.uniform(0.2, 0.35)))
    repo_context = int(ln(rng, 14000, 0.2) * vol)
    reviewer: list[LLMCall | ToolCall] = []
    for i in range(math.ceil(flagged / 5)):
        call = with_reasoning(
            "claude-sonnet-4-5", ln(rng, 16000 * vol), ln(rng, 1500 * vol), int(ln(rng, 4500 * vol) * effort_mult)
        )
        if i == 0:
            call.write_5m = repo_context
        else:
            call.cache_read = repo_context
        reviewer.append(call)
    blocks = [
        AgentBlock(None, [coordination(rng, "claude-haiku-4-5", "route_task")]),
        AgentBlock("triager", triager),
        AgentBlock(None, handoff(rng, "claude-haiku-4-5", 0.3)),
        AgentBlock("reviewer", reviewer),
    ]
    critical = rng.choices((0, 1, 2, 3, 4, 5), weights=(20, 30, 20, 15, 10, 5))[0]
    if critical:
        security: list[LLMCall | ToolCall] = [
            with_reasoning(
                "claude-opus-4-1", ln(rng, 14000 * vol), ln(rng, 1200 * vol), int(ln(rng, 3500 * vol) * effort_mult)
            )
            for _ in range(math.ceil(critical / 3))
        ]
        blocks += [AgentBlock(None, handoff(rng, "claude-haiku-4-5", 0.3)), AgentBlock("security_reviewer", security)]
    blocks.append(AgentBlock(None, [ToolCall("post_review_comments", ms(rng, 150, 800))]))
    return blocks


def plan_code_refactor(rng: Random, cond: Conditions, vol: float, effort_mult: float) -> list[AgentBlock]:
    """Plan with o3, edit file by file on DeepSeek (or the self-hosted fine-tune), verify with gpt-5."""
    planner: list[LLMCall | ToolCall] = [
        ToolCall("read_repo_map", ms(rng, 100, 800)),
        with_reasoning("o3", ln(rng, 36000 * vol), ln(rng, 5000 * vol), ln(rng, 6000 * vol)),
    ]
    repo_context = int(ln(rng, 24000, 0.2) * vol)
    editor: list[LLMCall | ToolCall] = []
    for _ in range(rng.randint(2, 8)):
        editor.append(ToolCall("read_file", ms(rng, 20, 200)))
        pick = rng.random()
        if pick < 0.06:  # ~3% of all the workflow's calls go to the self-hosted fine-tune
            call = LLMCall(UNPRICED_MODEL, uncached=repo_context + ln(rng, 12000 * vol), output=ln(rng, 5000 * vol))
        elif pick < 0.285:
            call = with_reasoning("deepseek-reasoner", ln(rng, 12000 * vol), ln(rng, 5000 * vol), ln(rng, 6000 * vol))
            call.cache_read = repo_context  # DeepSeek caches repeated prefixes on disk by itself
        else:
            call = LLMCall("deepseek-chat", uncached=ln(rng, 12000 * vol), output=ln(rng, 5000 * vol))
            call.cache_read = repo_context
        editor.append(call)
        editor.append(ToolCall("run_tests", ms(rng, 2000, 20000)))
    verifier: list[LLMCall | ToolCall] = [
        with_reasoning("gpt-5", ln(rng, 50000 * vol), ln(rng, 3000 * vol), ln(rng, 5000 * vol)),
        ToolCall("open_pull_request", ms(rng, 200, 900)),
    ]
    return [
        AgentBlock("planner", planner),
        AgentBlock(None, handoff(rng, "gpt-5-mini", 0.3)),
        AgentBlock("editor", editor),
        AgentBlock(None, handoff(rng, "gpt-5-mini", 0.3)),
        AgentBlock("verifier", verifier),
    ]


def plan_release_notes(rng: Random, cond: Conditions, vol: float, effort_mult: float) -> list[AgentBlock]:
    """Summarize merged PRs in batches with gpt-5, then compose the notes."""
    steps: list[LLMCall | ToolCall] = [ToolCall("list_merged_prs", ms(rng, 200, 1200))]
    for _ in range(rng.randint(1, 3)):
        steps.append(ToolCall("fetch_prs", ms(rng, 300, 2000)))
        steps.append(LLMCall("gpt-5", uncached=ln(rng, 45000 * vol), output=ln(rng, 5200 * vol)))
    steps.append(LLMCall("gpt-5", uncached=ln(rng, 18000 * vol), output=ln(rng, 4400 * vol)))
    steps.append(ToolCall("publish_release_notes", ms(rng, 100, 500)))
    return [AgentBlock(None, steps)]


# ---------------------------------------------------------------------------------------------
# Workflows
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Workflow:
    """How one workflow runs and is judged.

    Attributes:
        name: Key in seeds/workflows.csv.
        service: `service.name` of the agent service that runs it (one trace file per day).
        convention: Instrumentation flavour of its LLM spans.
        planner: Builds one run's plan.
        runs_per_day: Mean runs on a weekday at scale 1.
        weekend_factor: Weekend volume relative to a weekday.
        segment: Which accounts it serves (`marketing`, `dev`, `all`).
        success_rate: Chance a run is shippable at medium effort.
        effort_mix: Reasoning-effort tiers and their shares, None when the workflow has none.
        effort_lift: Success-rate points high effort adds (hard workflows 0.12–0.18, easy ~0).
        retry_share: Chance a failed run is re-run.
        evaluator: True when an automated evaluator (not a reviewer) judges its runs.
        target_median_cost_usd: Median rack-rate cost of a normal run, calibrated to.
        gzip: Whether its trace files are written gzip-compressed.
    """

    name: str
    service: str
    convention: str
    planner: Planner
    runs_per_day: float
    weekend_factor: float
    segment: str
    success_rate: float
    effort_mix: dict[str, float] | None
    effort_lift: float
    retry_share: float
    evaluator: bool
    target_median_cost_usd: float
    gzip: bool = False


# fmt: off
# Fields in order: name, service, convention, planner; runs_per_day, weekend_factor, segment,
# success_rate, effort_mix, effort_lift, retry_share, evaluator, target_median_cost_usd (, gzip).
WORKFLOWS: dict[str, Workflow] = {
    w.name: w
    for w in (
        Workflow("email_triage", "email-triage-bot", OPENAI_V2_LEGACY, plan_email_triage,
                 95, 0.6, "all", 0.93, None, 0.0, 0.15, True, 0.07),
        Workflow("ticket_triage", "ticket-triage-agent", OPENINFERENCE, plan_ticket_triage,
                 55, 0.35, "dev", 0.90, {"low": 0.25, "medium": 0.75}, 0.0, 0.15, True, 0.008),
        Workflow("lead_enrichment", "lead-enricher", OPENLLMETRY_LEGACY, plan_lead_enrichment,
                 48, 0.3, "marketing", 0.86, None, 0.0, 0.3, False, 0.06),
        Workflow("ad_copy_iteration", "adcopy-studio", OPENLLMETRY_LEGACY, plan_ad_copy_iteration,
                 16, 0.25, "marketing", 0.78, None, 0.0, 0.35, False, 0.03),
        Workflow("pr_backlink_outreach", "outreach-agent", OPENLLMETRY_LEGACY, plan_pr_backlink_outreach,
                 14, 0.2, "marketing", 0.72, None, 0.0, 0.3, False, 0.30),
        Workflow("seo_audit", "seo-audit-agent", SEMCONV, plan_seo_audit,
                 11, 0.3, "marketing", 0.78, {"low": 0.15, "medium": 0.6, "high": 0.25}, 0.15, 0.35, False, 4.20),
        Workflow("competitor_analysis", "competitive-intel", SEMCONV, plan_competitor_analysis,
                 3, 0.2, "marketing", 0.70, {"low": 0.1, "medium": 0.7, "high": 0.2}, 0.16, 0.25, False, 12.40,
                 gzip=True),
        Workflow("client_report", "client-reporting", SEMCONV, plan_client_report,
                 7, 0.15, "all", 0.88, None, 0.0, 0.4, False, 1.10, gzip=True),
        Workflow("content_brief", "content-brief-writer", SEMCONV, plan_content_brief,
                 12, 0.2, "marketing", 0.82, None, 0.0, 0.3, False, 0.60),
        Workflow("code_review", "code-review-bot", SEMCONV, plan_code_review,
                 20, 0.15, "dev", 0.82, {"low": 0.2, "medium": 0.55, "high": 0.25}, 0.13, 0.3, False, 1.20),
        Workflow("code_refactor", "refactor-agent", OPENINFERENCE, plan_code_refactor,
                 14, 0.15, "dev", 0.68, None, 0.0, 0.4, False, 0.35),
        Workflow("release_notes", "release-notes-bot", OPENAI_V2_LEGACY, plan_release_notes,
                 3, 0.0, "dev", 0.92, None, 0.0, 0.3, False, 0.30),
    )
}
# fmt: on

REVIEWERS = {
    "marketing": ("maria.lopez", "dan.okafor", "priya.raman"),
    "dev": ("kenji.sato", "lena.fischer"),
    "all": ("sam.ortiz", "aisha.bello"),
}


def accounts_for(workflow: Workflow) -> tuple[list[str], list[float]]:
    """Accounts a workflow serves and their cumulative weights (for `Random.choices`)."""
    chosen = [a for a in ACCOUNTS if workflow.segment == "all" or a.segment in (workflow.segment, "both")]
    if workflow.segment != "dev":
        chosen = [a for a in chosen if a.account_id != "acct_internal"]
    names, cumulative, total = [], [], 0.0
    for account in chosen:
        total += account.weight
        names.append(account.account_id)
        cumulative.append(total)
    return names, cumulative


# ---------------------------------------------------------------------------------------------
# Rack-rate prices, from genai-prices (the pipeline's own source), for calibration and summaries
# ---------------------------------------------------------------------------------------------
LONG_CONTEXT_THRESHOLD = 200_000


# After o3's June 2025 cut; DeepSeek off-peak hours.
RATE_CARD_AT = datetime(2026, 1, 15, 20, 0)


def rate_card_of_half_hour(started_ns: int) -> datetime:
    """The rate card's day at the UTC half hour a call started in.

    Prices by time of day (DeepSeek's peak and off-peak hours) change on the half hour, so the call pays
    what the price book charges at its own time.
    """
    seconds_of_day = started_ns // 1_000_000_000 % 86_400
    return RATE_CARD_AT.replace(hour=seconds_of_day // 3600, minute=30 if seconds_of_day % 3600 >= 1800 else 0)


@lru_cache(maxsize=64)
def rate_card(at: datetime = RATE_CARD_AT) -> dict[str, tuple[tuple[float, ...], tuple[float, ...]]]:
    """USD per token for each priced model: (below the long-context tier, above it), at `at`.

    Derived once by pricing unit usages with `genai_prices.calc_price`, so that pricing millions
    of simulated calls is a dot product rather than a library call each (~80 µs). The demo's
    billing fakes ask for another hour of the day (DeepSeek's peak price).
    """
    from genai_prices import Usage, calc_price

    def price(model: Model, **usage: int) -> float:
        return float(
            calc_price(Usage(**usage), model.name, provider_id=model.provider, genai_request_timestamp=at).total_price
        )

    card: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {}
    n = 100_000
    for model in MODELS.values():
        if not model.priced:
            continue
        tiers = []
        for base in (0, 250_000):
            floor = price(model, input_tokens=base) if base else 0.0
            tiers.append(
                (
                    (price(model, input_tokens=base + n) - floor) / n,
                    (price(model, input_tokens=base + n, cache_read_tokens=n) - floor) / n,
                    (price(model, input_tokens=base + n, cache_write_tokens=n) - floor) / n,
                    (price(model, input_tokens=base + n, cache_write_tokens=n, cache_write_1h_tokens=n) - floor) / n,
                    (price(model, input_tokens=base, output_tokens=n) - floor) / n,
                )
            )
        card[model.name] = (tiers[0], tiers[1])
    return card


def call_cost(call: LLMCall, started_ns: int | None = None) -> float:
    """Rack-rate USD of one call (0 for an unpriced model), the long-context tier applied to the whole call.

    At the rates of the half hour it started in when given (the demo's truth of a run's cost), else of
    `RATE_CARD_AT` (planning a workflow's cost, where a few cents of DeepSeek's peak hours do not matter).
    """
    rates = rate_card(RATE_CARD_AT if started_ns is None else rate_card_of_half_hour(started_ns)).get(call.model)
    if rates is None:
        return 0.0
    r = rates[1] if call.input_total > LONG_CONTEXT_THRESHOLD else rates[0]
    return (
        call.uncached * r[0] + call.cache_read * r[1] + call.write_5m * r[2] + call.write_1h * r[3] + call.output * r[4]
    )


def plan_calls(blocks: list[AgentBlock]) -> list[LLMCall]:
    """The LLM calls of a plan, in order."""
    return [step for block in blocks for step in block.steps if isinstance(step, LLMCall)]


def plan_cost(blocks: list[AgentBlock]) -> float:
    """Rack-rate USD of a plan."""
    return sum(call_cost(c) for c in plan_calls(blocks))


def choose_effort(rng: Random, workflow: Workflow, cond: Conditions) -> str | None:
    """The run's reasoning-effort tier (None for workflows without tiers)."""
    if cond.effort_override:
        return cond.effort_override
    if not workflow.effort_mix:
        return None
    tiers = list(workflow.effort_mix)
    return rng.choices(tiers, weights=[workflow.effort_mix[t] for t in tiers])[0]


# A normal run (a day with nothing planted) costs under this many times its workflow's target
# median. The loop detector flags a run at 10x the workflow's 14-day median (dbt var
# `anomaly_loop_multiple`); code_review at high effort with many files and two opus passes
# reached 10.5x in the demo ending 2026-12-05, which it then reported, with nothing planted, as a
# loop. 8x leaves room for a 14-day median that falls below the target.
NORMAL_RUN_CEILING = 8.0


def plan_run(rng: Random, workflow: Workflow, cond: Conditions, vol: float, effort: str | None) -> list[AgentBlock]:
    """A run's plan; on a normal day drawn again while it would cost NORMAL_RUN_CEILING x the target median.

    The demo's contract is that only planted patterns cross the anomaly thresholds. Planted
    conditions (context bloat, cost creep, oversized calls) are meant to move cost and are left
    alone. Measured on 100,000 normal runs per workflow: 51 of code_review's are redrawn (its
    high-effort tail), none of any other workflow's.
    """
    ceiling = NORMAL_RUN_CEILING * workflow.target_median_cost_usd
    for _ in range(100):
        blocks = workflow.planner(rng, cond, vol, reasoning_multiplier(rng, effort))
        if cond != NORMAL or plan_cost(blocks) < ceiling:
            return blocks
    raise RuntimeError(
        f"{workflow.name}: 100 normal plans in a row cost {NORMAL_RUN_CEILING}x its target median"
        f" (${workflow.target_median_cost_usd}) or more: is its planner or calibration off?"
    )


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def simulate_costs(workflow: Workflow, vol: float, runs: int = 401) -> list[float]:
    """Rack-rate cost of `runs` normal runs, on a fixed random stream (independent of any seed)."""
    rng = Random(f"calibrate/{workflow.name}")
    costs = []
    for _ in range(runs):
        effort = choose_effort(rng, workflow, NORMAL)
        costs.append(plan_cost(workflow.planner(rng, NORMAL, vol, reasoning_multiplier(rng, effort))))
    return costs


@lru_cache(maxsize=1)
def calibrated_volumes() -> dict[str, float]:
    """Per workflow, the token multiplier that puts a normal run's median cost on its target.

    Fixed-point iteration on vol ← vol × target / median: cost is close to linear in vol, and
    absolute parts (system prompts, corpora, coordination) only slow convergence; it stops
    within 1% of the target, in two to four rounds.
    """
    volumes = {}
    for workflow in WORKFLOWS.values():
        vol = 1.0
        for _ in range(8):
            median = _median(simulate_costs(workflow, vol))
            if median <= 0:
                break
            ratio = workflow.target_median_cost_usd / median
            vol *= ratio
            if abs(ratio - 1.0) < 0.01:
                break
        volumes[workflow.name] = round(vol, 4)
    return volumes
