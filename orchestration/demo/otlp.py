"""Write OTLP/JSON lines exactly as the OpenTelemetry Collector's file exporter does.

One line is one export batch: a `TracesData` (`{"resourceSpans": [...]}`) or a `LogsData`
(`{"resourceLogs": [...]}`) object. Ids are lower-case hex, enums are integers, 64-bit integers
and nanosecond timestamps are JSON strings (reference §E.2). The demo, the benchmark generator
and the tests all write through this module, so what they feed the pipeline is what a real
Collector would.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

SPAN_KIND_INTERNAL = 1
SPAN_KIND_CLIENT = 3
STATUS_UNSET = 0
STATUS_OK = 1
STATUS_ERROR = 2


def any_value(value: Any) -> dict[str, Any]:
    """Encode a Python value as an OTLP `AnyValue` one-of object."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": key_values(value)}}
    return {"stringValue": str(value)}


def key_values(attributes: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Encode an attribute mapping as an OTLP `KeyValue` list, skipping `None` values."""
    return [{"key": k, "value": any_value(v)} for k, v in attributes.items() if v is not None]


def unix_nanos(moment: datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime (naive ones are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000) * 1000


@dataclass
class SpanEvent:
    """A span event, e.g. `gen_ai.evaluation.result` recorded on the evaluated span."""

    name: str
    time_ns: int
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Span:
    """One span with the resource and instrumentation scope that emitted it."""

    trace_id: str
    span_id: str
    name: str
    start_ns: int
    end_ns: int
    parent_span_id: str = ""
    kind: int = SPAN_KIND_INTERNAL
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[SpanEvent] = field(default_factory=list)
    status_code: int = STATUS_UNSET
    status_message: str | None = None
    service_name: str = "agent-service"
    scope_name: str = "agentledger.demo"
    scope_version: str = "1.0.0"

    def to_otlp(self) -> dict[str, Any]:
        """The span object inside `scopeSpans[].spans[]`, with zero-valued fields omitted."""
        span: dict[str, Any] = {
            "traceId": self.trace_id,
            "spanId": self.span_id,
            "parentSpanId": self.parent_span_id,
            "flags": 257,
            "name": self.name,
            "kind": self.kind,
            "startTimeUnixNano": str(self.start_ns),
            "endTimeUnixNano": str(self.end_ns),
            "attributes": key_values(self.attributes),
        }
        if self.events:
            span["events"] = [
                {"timeUnixNano": str(e.time_ns), "name": e.name, "attributes": key_values(e.attributes)}
                for e in self.events
            ]
        status: dict[str, Any] = {}
        if self.status_code:
            status["code"] = self.status_code
        if self.status_message:
            status["message"] = self.status_message
        span["status"] = status
        return span


@dataclass
class LogRecord:
    """An OTLP log record; GenAI evaluation events arrive this way from current instrumentations."""

    time_ns: int
    event_name: str
    attributes: dict[str, Any]
    trace_id: str = ""
    span_id: str = ""
    service_name: str = "agent-evaluator"
    scope_name: str = "agentledger.demo.evals"

    def to_otlp(self) -> dict[str, Any]:
        """The record inside `scopeLogs[].logRecords[]`."""
        record: dict[str, Any] = {
            "timeUnixNano": str(self.time_ns),
            "observedTimeUnixNano": str(self.time_ns),
            "severityNumber": 9,
            "severityText": "INFO",
            "eventName": self.event_name,
            "body": {},
            "attributes": key_values(self.attributes),
        }
        if self.trace_id:
            record["traceId"] = self.trace_id
        if self.span_id:
            record["spanId"] = self.span_id
        return record


def traces_data(spans: Iterable[Span]) -> dict[str, Any]:
    """Group spans by resource and scope into one `TracesData` object (one export batch)."""
    by_resource: dict[str, dict[tuple[str, str], list[dict[str, Any]]]] = {}
    for span in spans:
        scopes = by_resource.setdefault(span.service_name, {})
        scopes.setdefault((span.scope_name, span.scope_version), []).append(span.to_otlp())
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": key_values({"service.name": service})},
                "schemaUrl": "https://opentelemetry.io/schemas/1.37.0",
                "scopeSpans": [
                    {"scope": {"name": name, "version": version}, "spans": items}
                    for (name, version), items in scopes.items()
                ],
            }
            for service, scopes in by_resource.items()
        ]
    }


def logs_data(records: Iterable[LogRecord]) -> dict[str, Any]:
    """Group log records by resource and scope into one `LogsData` object."""
    by_resource: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for record in records:
        by_resource.setdefault(record.service_name, {}).setdefault(record.scope_name, []).append(
            record.to_otlp()
        )
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": key_values({"service.name": service})},
                "scopeLogs": [
                    {"scope": {"name": scope}, "logRecords": items} for scope, items in scopes.items()
                ],
            }
            for service, scopes in by_resource.items()
        ]
    }


def batched(items: list[Any], size: int) -> Iterator[list[Any]]:
    """Split `items` into export batches of at most `size` (the Collector's batch processor)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def write_lines(path: Path, documents: Iterable[Mapping[str, Any] | bytes]) -> int:
    """Write one JSON document per line (gzip when the name ends in .gz); return the line count.

    A `bytes` item is written as-is, which lets tests plant malformed lines.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    # mtime=0: no wall-clock time in the gzip header, so the same input gives the same bytes
    opened = gzip.GzipFile(path, "wb", mtime=0) if path.suffix == ".gz" else path.open("wb")
    with opened as handle:
        for document in documents:
            line = document if isinstance(document, bytes) else orjson.dumps(document)
            handle.write(line.rstrip(b"\n") + b"\n")
            count += 1
    return count
