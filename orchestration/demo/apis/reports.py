"""Daily-bucket reports as providers serve them: a window from the query, pages of `limit` buckets.

Anthropic's and OpenAI's usage and cost reports share this shape (reference §A.1, §B.1): every day
of the asked window is a bucket (empty ones with `results: []`), pages hold at most `limit`
buckets, and `next_page` is an opaque token the client sends back as `page`. The fakes in this
package differ only in how they spell times, authenticate and wrap a bucket.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from orchestration.demo.server import FakeRequest

Results = dict[date, list[dict[str, Any]]]


@dataclass
class DailyReport:
    """One report's buckets by day, with an optional first, preliminary version of some days.

    `preliminary` holds what the provider said about a recent day before it settled: the first
    pull (a request without `page`) is served from it, every later pull from `by_day` — a restated
    bucket, as a nightly re-pull of the lookback window meets it.
    """

    by_day: Results = field(default_factory=dict)
    preliminary: Results = field(default_factory=dict)
    pulls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def page(
        self, first: date, end: date, limit: int, token: str | None, max_page_size: int | None
    ) -> tuple[list[tuple[date, list[dict[str, Any]]]], str | None]:
        """The buckets of one page of the window [first, end), and the next page's token."""
        with self._lock:
            if token is None:
                self.pulls += 1
            settled = self.pulls > 1
        days = [first + timedelta(days=n) for n in range((end - first).days)]
        offset = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
        size = min(limit, max_page_size or limit)
        chosen = days[offset : offset + size]
        buckets = [
            (day, (self.by_day if settled or day not in self.preliminary else self.preliminary).get(day, []))
            for day in chosen
        ]
        more = offset + size < len(days)
        return buckets, (base64.urlsafe_b64encode(str(offset + size).encode()).decode() if more else None)


def bad_request(message: str) -> dict[str, Any]:
    """An error body in the shape both providers use for a 400."""
    return {"type": "error", "error": {"type": "invalid_request_error", "message": message}}


def window_limit(request: FakeRequest, default: int, maximum: int) -> int | None:
    """The `limit` query parameter within the API's bounds; None when it is out of them."""
    value = int(request.param("limit") or default)
    return value if 1 <= value <= maximum else None

