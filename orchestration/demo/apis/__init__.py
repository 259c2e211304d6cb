"""Fake provider and CRM APIs served by the demo (and by tests) from orchestration/demo/server.py.

Each module registers the routes of one real API over the generated demo data and names the
environment variables that point the real client at it. Adding one is one line in `DEMO_APIS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestration.demo.server import FakeApiServer


@dataclass(frozen=True)
class DemoApi:
    """One fake API: how to register it, and the settings that point agentledger at it."""

    name: str
    register: Callable[[FakeApiServer, Path], None]
    environment: Callable[[str], dict[str, str]]


from orchestration.demo.apis import anthropic, hubspot, openai, salesforce  # noqa: E402 - the registry entries below

DEMO_APIS: list[DemoApi] = [
    DemoApi("Anthropic Admin", anthropic.register, anthropic.environment),
    DemoApi("OpenAI organization", openai.register, openai.environment),
    DemoApi("HubSpot", hubspot.register, hubspot.environment),
    DemoApi("Salesforce", salesforce.register, salesforce.environment),
]
