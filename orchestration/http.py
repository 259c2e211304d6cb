"""One way to talk HTTP: a requests session with retries, timeouts and a named User-Agent.

Every API source (providers, CRM) and the alert webhook use `make_session`. Retries are urllib3's
`Retry` on the session's adapter: 429 and 5xx/529 are retried with exponential backoff, honouring
`Retry-After`; everything else (401, 403, 404, a spend-limit 429 …) is returned at once for the
caller to turn into a clear error with `raise_for_status`.
"""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from orchestration import __version__

# (connect, read) seconds: connect fails fast on a wrong base URL; reports can take a while to build.
TIMEOUT = (10, 60)
RETRY_STATUSES = (429, 500, 502, 503, 504, 529)
USER_AGENT = f"agentledger/{__version__} (+https://github.com/agentledger/agentledger)"


def make_session(total_retries: int = 5, backoff_factor: float = 1.0) -> requests.Session:
    """A session whose requests retry transient failures and identify agentledger.

    Args:
        total_retries: Attempts after the first for retryable statuses and connection errors.
        backoff_factor: Base of the exponential backoff (1 → 1, 2, 4 … s) when no Retry-After is given.
    """
    retry = Retry(
        total=total_retries,
        backoff_factor=backoff_factor,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "POST"}),  # report and search endpoints are read-only POSTs too
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session
