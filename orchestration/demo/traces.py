"""Turn run plans into spans, the way each instrumentation library would have recorded them.

One run is one trace: a root `invoke_workflow <workflow>` span carrying the run attributes, agent
spans, tool spans and LLM call spans. The LLM spans speak the convention of the service that made
them (reference §D): current semconv, legacy OpenLLMetry (≤ 0.53), OpenInference, or
opentelemetry-instrumentation-openai-v2 in its default mode. Around that core, what real exports
carry: failed calls (rate limits, overload) retried after a back-off, a provider SDK exporting
its own copy of an Anthropic call, and now and then prompt text that the pipeline must strip.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random
from typing import Any

import orjson

from orchestration.demo.catalog import (
    MODELS,
    OPENAI_V2_LEGACY,
    OPENINFERENCE,
    OPENLLMETRY_LEGACY,
    SEMCONV,
    AgentBlock,
    LLMCall,
    Model,
    ToolCall,
    Workflow,
    call_cost,
)
from orchestration.demo.otlp import SPAN_KIND_CLIENT, SPAN_KIND_INTERNAL, STATUS_ERROR, Span, SpanEvent

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000

# Shares of the things real exports carry besides the happy path.
FAILED_CALL_SHARE = 0.01  # a call refused (429 / 529) before it is retried
# Semconv Anthropic calls also exported by the SDK's own tracer: ~10% of all Anthropic calls.
SDK_DUPLICATE_SHARE = 0.12
SDK_SPLIT_SHARE = 0.25  # SDK copies that still report the 5m / 1h cache-write split
CONTENT_SHARE = 0.02  # LLM spans with opt-in prompt content captured
ROOT_CONTENT_SHARE = 0.04  # legacy workflow spans with traceloop.entity.input

APP_SCOPE = ("agency.workflows", "1.8.2")
SDK_SCOPE = ("anthropic", "0.69.0")

# Instrumentation scope per convention and provider.
_SCOPES: dict[tuple[str, str], tuple[str, str]] = {
    (SEMCONV, "anthropic"): ("opentelemetry.instrumentation.anthropic", "0.54.2"),
    (SEMCONV, "openai"): ("opentelemetry.instrumentation.openai", "0.54.2"),
    (SEMCONV, "google"): ("opentelemetry.instrumentation.google_generativeai", "0.54.2"),
    (SEMCONV, "deepseek"): ("opentelemetry.instrumentation.openai", "0.54.2"),
    (OPENLLMETRY_LEGACY, "anthropic"): ("opentelemetry.instrumentation.anthropic", "0.47.5"),
    (OPENLLMETRY_LEGACY, "openai"): ("opentelemetry.instrumentation.openai", "0.47.5"),
    (OPENLLMETRY_LEGACY, "google"): ("opentelemetry.instrumentation.google_generativeai", "0.47.5"),
    (OPENINFERENCE, "anthropic"): ("openinference.instrumentation.anthropic", "0.1.19"),
    (OPENINFERENCE, "openai"): ("openinference.instrumentation.openai", "0.1.30"),
    (OPENINFERENCE, "deepseek"): ("openinference.instrumentation.openai", "0.1.30"),
    (OPENINFERENCE, "vllm"): ("openinference.instrumentation.openai", "0.1.30"),
    (OPENAI_V2_LEGACY, "openai"): ("opentelemetry.instrumentation.openai_v2", "2.4b0"),
}
_SEMCONV_PROVIDER = {"anthropic": "anthropic", "openai": "openai", "google": "gcp.gemini", "deepseek": "deepseek"}
_LEGACY_SYSTEM = {"anthropic": "Anthropic", "google": "Google", "openai": "openai"}
_LEGACY_SPAN_NAME = {"anthropic": "anthropic.chat", "google": "gemini.generate_content", "openai": "openai.chat"}
_OPENINFERENCE_SPAN_NAME = {"anthropic": "Messages"}
_SERVER = {
    "anthropic": "api.anthropic.com",
    "openai": "api.openai.com",
    "google": "generativelanguage.googleapis.com",
    "deepseek": "api.deepseek.com",
    "vllm": "vllm.ml-platform.svc",
}
_FINISH = {"anthropic": ["end_turn"], "google": ["STOP"]}
_ERRORS = {
    "rate_limit": "Error code: 429 - {'type': 'error', 'error': {'type': 'rate_limit_error'}}",
    "overloaded": "Error code: 529 - {'type': 'error', 'error': {'type': 'overloaded_error'}}",
}

_EXCEPTION_TYPES = {"rate_limit": "RateLimitError", "overloaded": "InternalServerError"}

_B62 = string.digits + string.ascii_letters


def hex_id(rng: Random, bits: int) -> str:
    """A non-zero lower-case hex id of `bits` bits (trace ids 128, span ids 64)."""
    return format(rng.getrandbits(bits) | 1, f"0{bits // 4}x")


# Random bytes mapped onto base-62 digits (the modulo bias is irrelevant for ids).
_B62_TABLE = bytes(_B62[i % 62].encode()[0] for i in range(256))


def _b62(rng: Random, length: int) -> str:
    return rng.randbytes(length).translate(_B62_TABLE).decode()


def _between(rng: Random, low: int, high: int) -> int:
    """`rng.randint(low, high)` at a third of the cost (the hot path draws several per span)."""
    return low + int(rng.random() * (high - low + 1))


def response_id(rng: Random, provider: str) -> str:
    """A response id shaped like the provider's own (`msg_01…`, `chatcmpl-…`, a UUID …)."""
    if provider == "anthropic":
        return "msg_01" + _b62(rng, 22)
    if provider == "google":
        return _b62(rng, 23)
    if provider == "deepseek":
        h = format(rng.getrandbits(128), "032x")
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"
    return "chatcmpl-" + _b62(rng, 29)


def _messages(workflow: str, account: str) -> str:
    """Captured prompt content (opt-in): what the pipeline must never store."""
    return orjson.dumps(
        [
            {"role": "system", "parts": [{"type": "text", "content": f"You are the {workflow} agent."}]},
            {
                "role": "user",
                "parts": [
                    {
                        "type": "text",
                        "content": (
                            f"Client {account}: contact jordan.blake@{account.split('_')[-1]}.example, "
                            "+1-415-555-0142. Draft from the attached notes."
                        ),
                    }
                ],
            },
        ]
    ).decode()


Builder = Callable[[Model, LLMCall, str, str, bool], tuple[str, dict[str, Any]]]


def semconv_call(model: Model, call: LLMCall, response_model: str, resp_id: str, ok: bool) -> tuple[str, dict]:
    """Current GenAI semconv: input includes cache read + write; Anthropic writes split 5m / 1h."""
    provider = model.provider
    a: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": _SEMCONV_PROVIDER[provider],
        "gen_ai.request.model": model.name,
        "gen_ai.request.max_tokens": 16384 if call.reasoning else 4096,
        "server.address": _SERVER[provider],
    }
    if ok:
        a["gen_ai.response.model"] = response_model
        a["gen_ai.response.id"] = resp_id
        a["gen_ai.response.finish_reasons"] = _FINISH.get(provider, ["stop"])
        a["gen_ai.usage.input_tokens"] = call.input_total
        a["gen_ai.usage.output_tokens"] = call.output
        if provider == "anthropic" or call.cache_read:
            a["gen_ai.usage.cache_read.input_tokens"] = call.cache_read
        if provider == "anthropic":
            a["gen_ai.usage.cache_creation.input_tokens"] = call.write_5m + call.write_1h
            if call.write_5m or call.write_1h:
                a["gen_ai.usage.cache_creation.ephemeral_5m_input_tokens"] = call.write_5m
                a["gen_ai.usage.cache_creation.ephemeral_1h_input_tokens"] = call.write_1h
        if call.reasoning:
            a["gen_ai.usage.reasoning.output_tokens"] = call.reasoning
    return f"chat {model.name}", a


def openllmetry_legacy_call(
    model: Model, call: LLMCall, response_model: str, resp_id: str, ok: bool
) -> tuple[str, dict]:
    """traceloop-sdk <= 0.53: capitalised gen_ai.system, prompt/completion tokens, underscore cache attrs."""
    provider = model.provider
    a: dict[str, Any] = {
        "gen_ai.system": _LEGACY_SYSTEM[provider],
        "llm.request.type": "chat",
        "gen_ai.request.model": model.name,
        "llm.is_streaming": False,
    }
    if ok:
        a["gen_ai.response.model"] = response_model
        a["gen_ai.response.id"] = resp_id
        a["gen_ai.usage.prompt_tokens"] = call.input_total
        a["gen_ai.usage.completion_tokens"] = call.output
        a["llm.usage.total_tokens"] = call.input_total + call.output
        if provider == "anthropic" or call.cache_read:
            a["gen_ai.usage.cache_read_input_tokens"] = call.cache_read
        if provider == "anthropic":
            a["gen_ai.usage.cache_creation_input_tokens"] = call.write_5m + call.write_1h
        if call.reasoning:
            a["llm.usage.reasoning_tokens"] = call.reasoning
    return _LEGACY_SPAN_NAME[provider], a


def openinference_call(model: Model, call: LLMCall, response_model: str, resp_id: str, ok: bool) -> tuple[str, dict]:
    """Arize OpenInference: llm.token_count.*, the prompt count including cache; no response id."""
    provider = model.provider
    a: dict[str, Any] = {
        "openinference.span.kind": "LLM",
        "llm.provider": provider,
        "llm.system": "anthropic" if provider == "anthropic" else "openai",
        "llm.model_name": response_model if ok else model.name,
        "llm.invocation_parameters": '{"reasoning_effort": "medium"}' if call.reasoning else '{"temperature": 0.2}',
    }
    if ok:
        a["llm.token_count.prompt"] = call.input_total
        a["llm.token_count.completion"] = call.output
        a["llm.token_count.total"] = call.input_total + call.output
        if call.cache_read:
            a["llm.token_count.prompt_details.cache_read"] = call.cache_read
        if call.write_5m or call.write_1h:
            a["llm.token_count.prompt_details.cache_write"] = call.write_5m + call.write_1h
        if call.reasoning:
            a["llm.token_count.completion_details.reasoning"] = call.reasoning
    return _OPENINFERENCE_SPAN_NAME.get(provider, "ChatCompletion"), a


def openai_v2_legacy_call(model: Model, call: LLMCall, response_model: str, resp_id: str, ok: bool) -> tuple[str, dict]:
    """opentelemetry-instrumentation-openai-v2, default mode: input/output only, cache and reasoning unseen."""
    a: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.system": "openai",
        "gen_ai.request.model": model.name,
        "gen_ai.openai.request.service_tier": "auto",
        "server.address": _SERVER[model.provider],
        "server.port": 443,
    }
    if ok:
        a["gen_ai.response.model"] = response_model
        a["gen_ai.response.id"] = resp_id
        a["gen_ai.response.finish_reasons"] = ["stop"]
        a["gen_ai.openai.response.service_tier"] = "default"
        a["gen_ai.usage.input_tokens"] = call.input_total
        a["gen_ai.usage.output_tokens"] = call.output
    return f"chat {model.name}", a


_CONVENTION_BUILDERS: dict[str, Builder] = {
    SEMCONV: semconv_call,
    OPENLLMETRY_LEGACY: openllmetry_legacy_call,
    OPENINFERENCE: openinference_call,
    OPENAI_V2_LEGACY: openai_v2_legacy_call,
}


@dataclass(slots=True)
class RunContext:
    """Who and what a run is, fixed before its spans are built."""

    workflow: Workflow
    run_id: str
    trace_id: str
    account_id: str
    effort: str | None
    retry_of: str | None
    start_ns: int


@dataclass(slots=True)
class EmittedRun:
    """A run's spans and what the labels and evaluations need to know about it."""

    context: RunContext
    spans: list[Span]
    start_ns: int
    end_ns: int
    llm_calls: int
    cost_usd: float
    evaluated: Span | None = None
    evaluated_response_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # (provider, model, uncached, cache read, write 5m, write 1h, output, reasoning) per answered call
    usage: list[tuple[str, str, int, int, int, int, int, int]] = field(default_factory=list)


class RunEmitter:
    """Builds the spans of runs of one workflow, in its service's instrumentation convention."""

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self.convention = workflow.convention
        self.service = workflow.service

    # -- spans -----------------------------------------------------------------------------------
    def _span(
        self,
        ctx: RunContext,
        span_id: str,
        parent: str,
        name: str,
        start: int,
        end: int,
        attributes: dict[str, Any],
        kind: int = SPAN_KIND_INTERNAL,
        scope: tuple[str, str] = APP_SCOPE,
    ) -> Span:
        return Span(
            trace_id=ctx.trace_id,
            span_id=span_id,
            name=name,
            start_ns=start,
            end_ns=end,
            parent_span_id=parent,
            kind=kind,
            attributes=attributes,
            service_name=self.service,
            scope_name=scope[0],
            scope_version=scope[1],
        )

    def _root_attributes(self, rng: Random, ctx: RunContext) -> dict[str, Any]:
        name = self.workflow.name
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_workflow",
            "gen_ai.workflow.name": name,
            "workflow.name": name,
            "workflow.run_id": ctx.run_id,
            "client.account_id": ctx.account_id,
        }
        if ctx.effort:
            attributes["workflow.reasoning_effort"] = ctx.effort
        if ctx.retry_of:
            attributes["workflow.retry_of_run_id"] = ctx.retry_of
        if self.convention == OPENLLMETRY_LEGACY:
            attributes["traceloop.span.kind"] = "workflow"
            attributes["traceloop.workflow.name"] = name
            attributes["traceloop.entity.name"] = name
            if rng.random() < ROOT_CONTENT_SHARE:
                attributes["traceloop.entity.input"] = orjson.dumps(
                    {"args": [], "kwargs": {"account": ctx.account_id, "brief": "Q3 launch, see notes from call"}}
                ).decode()
        elif self.convention == OPENINFERENCE:
            attributes["openinference.span.kind"] = "CHAIN"
        return attributes

    def _agent_attributes(self, agent: str) -> dict[str, Any]:
        attributes: dict[str, Any] = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent}
        if self.convention == OPENLLMETRY_LEGACY:
            attributes["traceloop.span.kind"] = "agent"
            attributes["traceloop.entity.name"] = agent
        elif self.convention == OPENINFERENCE:
            attributes["openinference.span.kind"] = "AGENT"
            attributes["agent.name"] = agent
        return attributes

    def _tool_attributes(self, tool: str) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": tool,
            "gen_ai.tool.type": "function",
        }
        if self.convention == OPENLLMETRY_LEGACY:
            attributes["traceloop.span.kind"] = "tool"
            attributes["traceloop.entity.name"] = tool
        elif self.convention == OPENINFERENCE:
            attributes["openinference.span.kind"] = "TOOL"
            attributes["tool.name"] = tool
        return attributes

    # -- LLM calls -------------------------------------------------------------------------------
    def _llm(
        self, rng: Random, model: Model, call: LLMCall, response_model: str, resp_id: str, failed: str | None
    ) -> tuple[str, dict[str, Any]]:
        """Span name and attributes of one LLM call in this service's convention.

        A failed call (`failed` holds its error.type) carries no response and no usage.
        """
        name, a = _CONVENTION_BUILDERS[self.convention](model, call, response_model, resp_id, not failed)
        if failed:
            a["error.type"] = failed
        if call.agent:
            a["gen_ai.agent.name"] = call.agent
        if call.prompt_name:
            a["gen_ai.prompt.name"] = call.prompt_name
        if call.attributes:
            a.update(call.attributes)
        if rng.random() < CONTENT_SHARE:
            self._add_content(a)
        return name, a

    def _add_content(self, attributes: dict[str, Any]) -> None:
        text = _messages(self.workflow.name, "acct_northwind")
        if self.convention == OPENLLMETRY_LEGACY:
            attributes["gen_ai.prompt.0.role"] = "user"
            attributes["gen_ai.prompt.0.content"] = text
            attributes["gen_ai.completion.0.content"] = "Here is the draft you asked for."
        elif self.convention == OPENINFERENCE:
            attributes["llm.input_messages.0.message.role"] = "user"
            attributes["llm.input_messages.0.message.content"] = text
            attributes["input.value"] = text
        else:
            attributes["gen_ai.input.messages"] = text

    def _sdk_copy(
        self, rng: Random, ctx: RunContext, parent: Span, model: Model, call: LLMCall, response_model: str, resp_id: str
    ) -> Span:
        """The Anthropic SDK's own span of the same call: input counts uncached tokens only."""
        writes = call.write_5m + call.write_1h
        a: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "anthropic",
            "gen_ai.request.model": model.name,
            "gen_ai.response.model": response_model,
            "gen_ai.response.id": resp_id,
            "gen_ai.usage.input_tokens": call.uncached,
            "gen_ai.usage.output_tokens": call.output,
            "gen_ai.usage.cache_read.input_tokens": call.cache_read,
            "gen_ai.usage.cache_creation.input_tokens": writes,
        }
        if writes and rng.random() < SDK_SPLIT_SHARE:
            a["gen_ai.usage.cache_creation.ephemeral_5m_input_tokens"] = call.write_5m
            a["gen_ai.usage.cache_creation.ephemeral_1h_input_tokens"] = call.write_1h
        start = parent.start_ns + _between(rng, 1, 8) * NS_PER_MS
        end = max(start + NS_PER_MS, parent.end_ns - _between(rng, 1, 5) * NS_PER_MS)
        return self._span(
            ctx, hex_id(rng, 64), parent.span_id, "Messages.create", start, end, a, SPAN_KIND_CLIENT, SDK_SCOPE
        )

    # -- a whole run -----------------------------------------------------------------------------
    def emit(
        self, rng: Random, ctx: RunContext, blocks: list[AgentBlock], earliest_start_ns: int, latest_end_ns: int
    ) -> EmittedRun:
        """Build the run's spans from `blocks`, starting at `ctx.start_ns`.

        Args:
            rng: The (seed, day, workflow) stream.
            ctx: Ids and run attributes.
            blocks: The plan.
            earliest_start_ns: The start of the run's day.
            latest_end_ns: The run must have ended by then (a day's files hold whole runs, and
                its evaluations land the same day); a run that would end later is moved earlier
                as a whole, never before `earliest_start_ns`.

        Returns:
            The run's spans and facts about it.
        """
        spans: list[Span] = []
        root_id = hex_id(rng, 64)
        t = ctx.start_ns + _between(rng, 1, 5) * NS_PER_MS
        llm_calls = 0
        cost = 0.0
        usage: list[tuple[str, str, int, int, int, int, int, int]] = []
        evaluated: Span | None = None
        evaluated_response: str | None = None
        for block in blocks:
            parent = root_id
            agent_id = ""
            agent_start = t
            if block.agent:
                agent_id = hex_id(rng, 64)
                parent = agent_id
                t += _between(rng, 1, 4) * NS_PER_MS
            for step in block.steps:
                if isinstance(step, ToolCall):
                    end = t + step.ms * NS_PER_MS
                    spans.append(
                        self._span(
                            ctx,
                            hex_id(rng, 64),
                            parent,
                            f"execute_tool {step.name}",
                            t,
                            end,
                            self._tool_attributes(step.name),
                        )
                    )
                    t = end + _between(rng, 2, 40) * NS_PER_MS
                    continue
                model = MODELS[step.model]
                scope = _SCOPES[(self.convention, model.provider)]
                if rng.random() < FAILED_CALL_SHARE:
                    error = "overloaded" if model.provider == "anthropic" and rng.random() < 0.5 else "rate_limit"
                    name, attributes = self._llm(rng, model, step, model.name, "", error)
                    end = t + _between(rng, 150, 1200) * NS_PER_MS
                    failed = self._span(ctx, hex_id(rng, 64), parent, name, t, end, attributes, SPAN_KIND_CLIENT, scope)
                    failed.status_code = STATUS_ERROR
                    failed.status_message = _ERRORS[error]
                    failed.events.append(
                        SpanEvent(
                            "exception",
                            end,
                            {
                                "exception.type": _EXCEPTION_TYPES[error],
                                "exception.message": _ERRORS[error],
                            },
                        )
                    )
                    spans.append(failed)
                    t = end + _between(rng, 1000, 8000) * NS_PER_MS  # back-off before the retry
                response_model = (
                    model.snapshot if model.snapshot and rng.random() < model.snapshot_share else model.name
                )
                resp_id = response_id(rng, model.provider)
                name, attributes = self._llm(rng, model, step, response_model, resp_id, None)
                seconds = model.first_token_s + step.output / model.tokens_per_second
                end = t + int(seconds * rng.uniform(0.8, 1.3) * NS_PER_S)
                span = self._span(ctx, hex_id(rng, 64), parent, name, t, end, attributes, SPAN_KIND_CLIENT, scope)
                spans.append(span)
                if self.convention == SEMCONV and model.provider == "anthropic" and rng.random() < SDK_DUPLICATE_SHARE:
                    spans.append(self._sdk_copy(rng, ctx, span, model, step, response_model, resp_id))
                llm_calls += 1
                cost += call_cost(step, t)
                usage.append(
                    (model.provider, model.name, step.uncached, step.cache_read, step.write_5m, step.write_1h,
                     step.output, step.reasoning)
                )
                evaluated, evaluated_response = span, resp_id
                t = end + _between(rng, 2, 60) * NS_PER_MS
            if block.agent:
                t += _between(rng, 1, 4) * NS_PER_MS
                spans.append(
                    self._span(
                        ctx,
                        agent_id,
                        root_id,
                        f"invoke_agent {block.agent}",
                        agent_start,
                        t,
                        self._agent_attributes(block.agent),
                    )
                )
        end = t + _between(rng, 1, 10) * NS_PER_MS
        spans.append(
            self._span(
                ctx,
                root_id,
                "",
                f"invoke_workflow {self.workflow.name}",
                ctx.start_ns,
                end,
                self._root_attributes(rng, ctx),
            )
        )
        start = ctx.start_ns
        if end > latest_end_ns:
            shift = max(0, min(end - latest_end_ns, start - earliest_start_ns))
            for s in spans:
                s.start_ns -= shift
                s.end_ns -= shift
                for e in s.events:
                    e.time_ns -= shift
            start -= shift
            end -= shift
        return EmittedRun(ctx, spans, start, end, llm_calls, cost, evaluated, evaluated_response, usage=usage)
