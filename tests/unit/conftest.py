"""Fixtures shared by the unit tests."""

import time
from collections.abc import Iterator

import pytest


@pytest.fixture
def new_york_host(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The host's local zone is America/New_York (UTC-4 in May) for the test."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
