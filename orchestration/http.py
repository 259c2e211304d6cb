"""One way to talk HTTP: a requests session with retries, timeouts and a named User-Agent.

Every API source (providers, CRM) and the alert webhook use `make_session`. Retries are urllib3's
`Retry` on the session's adapter: 429 and 5xx/529 are retried with exponential backoff, honouring
`Retry-After`; everything else (401, 403, 404 …) is returned at once. `get_json` turns a response
that is not a success into an `ApiError` naming the API and the setting to check — never the key.

Redirects are never followed. requests drops `Authorization` when a redirect changes host, but not
a custom header such as Anthropic's `x-api-key`, which a redirect would hand to whatever host it
names (also from https to http). No API here redirects its report endpoints, so a 3xx means a
wrong base URL and stops the request with an error saying so.

A spend-limit 429 (Anthropic `enforced_spend_limit_reached`, OpenAI `insufficient_quota`) shares
its status with a rate limit, so the status cannot tell them apart, and neither can `Retry-After`:
Anthropic documents the header on its rate-limit 429s (reference §A.3), but OpenAI's rate-limit 429s
need not carry it (§B.3), so "429 without Retry-After" would stop real rate limits too. The error
body is what differs: `ProviderRetry` reads a 429's body (a few hundred bytes) before retrying and
stops at once when it names a spending cap or an exhausted quota, which no amount of waiting fixes.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import LocationValueError
from urllib3.util.retry import Retry

from orchestration import __version__

# (connect, read) seconds: connect fails fast on a wrong base URL; reports can take a while to build.
TIMEOUT = (10, 60)
RETRY_STATUSES = (429, 500, 502, 503, 504, 529)
USER_AGENT = f"agentledger/{__version__} (+https://github.com/agentledger/agentledger)"
# A Retry-After longer than this is a quota window, not a pause: wait this long at most, then retry.
MAX_RETRY_AFTER_SECONDS = 300
# Error codes of a 429 that waiting cannot fix: spending caps and exhausted quotas (reference §A.3, §B.3).
SPEND_LIMIT_CODES = frozenset(
    {"enforced_spend_limit_reached", "insufficient_quota", "billing_hard_limit_reached", "billing_not_active"}
)
# An error code is a short identifier (`invalid_api_key`, `INVALID_SESSION_ID`); anything else is the
# server's free text, which can echo the credential that was sent ("Invalid API key: Bearer sk-…").
ERROR_CODE = re.compile(r"[a-z0-9_.-]{1,64}", re.IGNORECASE)
# Credentials as a server might echo them: an Authorization value, or an `sk-` key (OpenAI, Anthropic).
CREDENTIAL = re.compile(r"\bbearer\s+\S+|\bsk-[a-z0-9_-]+", re.IGNORECASE)
REDACTED = "[redacted]"


class SpendLimitReached(Exception):  # noqa: N818 - a condition, raised through urllib3 and caught in get_json
    """A 429 whose body names a spending cap or exhausted quota: raised from inside urllib3 to stop retrying.

    It deliberately derives from `Exception` only: requests' adapter re-wraps `OSError`s and urllib3
    errors, and this must reach `get_json` as itself.
    """

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: spending limit or quota reached")
        self.status = status
        self.body = body


def redact(text: str, *secrets: str) -> str:
    """`text` with each of `secrets`, any `Bearer <token>` and any `sk-…` key replaced by `[redacted]`.

    Defence in depth for messages that carry anything a server sent: error codes are already
    filtered by `error_codes`, but a message must not leak a key even if a filter misses one.
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return CREDENTIAL.sub(REDACTED, text)


def is_error_code(value: object) -> bool:
    """Whether `value` looks like a machine-readable error code rather than free text or a credential."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return False
    text = str(value)
    return ERROR_CODE.fullmatch(text) is not None and CREDENTIAL.search(text) is None


def error_codes(body: bytes | str | None) -> list[str]:
    """The machine-readable codes of an API error body (Anthropic, OpenAI and most JSON APIs).

    Only values shaped like codes are kept (`is_error_code`): an `{"error": "<free text>"}` body, a
    `message`, or anything that is not a string or number is dropped, because free text can echo
    the key that was sent.
    """
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        return []
    if not isinstance(parsed, dict):
        return []
    error = parsed.get("error", parsed)
    if not isinstance(error, dict):
        return [str(error)] if is_error_code(error) else []
    codes = [error.get("type"), error.get("code")]
    details = error.get("details")
    if isinstance(details, dict):
        codes.append(details.get("error_code"))
    return [str(code) for code in codes if is_error_code(code)]


class ProviderRetry(Retry):
    """urllib3 `Retry` that does not retry a 429 whose body says a spending cap or quota is exhausted."""

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):  # noqa: D417
        """Count one more attempt, unless a 429 names a spending cap: then stop with `SpendLimitReached`."""
        if response is not None and response.status == 429:
            body = response.data  # read and cached; an error body is small
            if SPEND_LIMIT_CODES.intersection(error_codes(body)):
                raise SpendLimitReached(response.status, body)
        return super().increment(method, url, response, error, _pool, _stacktrace)


# What a request can fail with before any response: requests' own errors, and urllib3's for a URL it
# cannot parse (a host label over 63 characters), which requests lets through.
REQUEST_FAILURES = (requests.RequestException, LocationValueError)


class _NoRedirectSession(requests.Session):
    """A session that returns a 3xx response as it is instead of following it (see the module docstring)."""

    def get_redirect_target(self, resp: requests.Response) -> None:
        """No redirect is ever followed: the caller sees the 3xx and names the setting to fix."""
        return None


def is_redirect(status: int) -> bool:
    """Whether a status is a redirect, which this session never follows."""
    return 300 <= status < 400


def redirect_message(api: str, what: str, status: int, setting: str) -> str:
    """The error for a redirect: following it could send the credential elsewhere."""
    return (
        f"{api} {what}: answered with a redirect (HTTP {status}), which agentledger does not follow (it would "
        f"send the credential to another address): set {setting} to the address the API answers at"
    )


def display_url(url: str) -> str:
    """`url` as an error message may show it: no `user:password@`, query or fragment.

    Not by `urlsplit`, which a URL without its scheme (`user:pw@host`) or with an unescaped `/`
    or `#` in the password leaves holding the password: everything up to the last `@` goes.
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        scheme, rest = "", url
    rest = rest.rpartition("@")[2]
    rest = re.split(r"[?#]", rest, maxsplit=1)[0]
    return f"{scheme}://{rest}" if scheme else rest


def make_session(total_retries: int = 5, backoff_factor: float = 1.0) -> requests.Session:
    """A session whose requests retry transient failures, never follow a redirect, and identify agentledger.

    Args:
        total_retries: Attempts after the first for retryable statuses and connection errors.
        backoff_factor: Base of the exponential backoff (1 → 1, 2, 4 … s) when no Retry-After is given.
    """
    retry = ProviderRetry(
        total=total_retries,
        backoff_factor=backoff_factor,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "POST"}),  # report and search endpoints are read-only POSTs too
        respect_retry_after_header=True,
        retry_after_max=MAX_RETRY_AFTER_SECONDS,
        raise_on_status=False,
    )
    session = _NoRedirectSession()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


@dataclass(frozen=True)
class ApiSource:
    """An external API as a person configures it: its name and the settings that point at it."""

    name: str
    key_setting: str
    base_url_setting: str
    default_base_url: str

    def configured(self, environ: Mapping[str, str] | None = None) -> ApiConfig | None:
        """The API's key and base URL from the environment; None when the key is not set."""
        env = os.environ if environ is None else environ
        secret = env.get(self.key_setting, "").strip()
        if not secret:
            return None
        base_url = (env.get(self.base_url_setting) or self.default_base_url).strip().rstrip("/")
        return ApiConfig(source=self, base_url=base_url, secret=secret)


@dataclass(frozen=True)
class ApiConfig:
    """A configured API. The secret is kept out of `repr`, so logging the object cannot leak it."""

    source: ApiSource
    base_url: str
    secret: str = field(repr=False)


class ApiError(RuntimeError):
    """A request to an external API failed. The message names the API and the setting to check, never the key."""


def decode_json_body(response: requests.Response) -> Any:
    """The body as JSON with money as `Decimal`, or `None` when it is not JSON.

    Not JSON means cut off or an HTML error page (a bare `null`, which none of these APIs sends,
    reads the same). The caller names the setting to check: a body that is not JSON usually means the wrong base URL.
    """
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError:
        return None


def _explain(source: ApiSource, status: int, codes: list[str]) -> str:
    detail = f"HTTP {status}" + (f" {'/'.join(dict.fromkeys(codes))}" if codes else "")
    if status == 401:
        return f"{source.name} rejected the key ({detail}): check {source.key_setting}"
    if status == 403:
        return f"{source.name} refused access ({detail}): check that {source.key_setting} is an admin key"
    if status == 429 and SPEND_LIMIT_CODES.intersection(codes):
        return (
            f"{source.name} says a spending limit or quota is exhausted ({detail}); retrying cannot help: "
            f"raise the limit, or check that {source.key_setting} belongs to the right organization"
        )
    if status == 429:
        return f"{source.name} still rate-limits after retries ({detail}): run again later"
    if status == 404:
        return f"{source.name} has no such endpoint ({detail}): check {source.base_url_setting}"
    if status >= 500:
        return f"{source.name} kept failing after retries ({detail}): the provider is having trouble; run again later"
    return f"{source.name} refused the request ({detail})"


def get_json(
    session: requests.Session,
    config: ApiConfig,
    path: str,
    *,
    params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """GET `path` under the API's base URL and return the parsed JSON body.

    Numbers with a fraction are parsed as `Decimal`: money arrives as JSON numbers (OpenAI's
    costs), and a float would carry binary noise into the warehouse.

    Raises:
        ApiError: Any failure — connection, a status that is not a success (after the session's
            retries), a body that is not JSON (e.g. cut off). Its message names the API and the
            setting to check, and never contains the key or the server's free text.
    """
    source = config.source
    url = config.base_url + path

    def failed(message: str) -> ApiError:
        return ApiError(redact(message, config.secret))

    try:
        response = session.get(url, params=params, headers=headers, timeout=TIMEOUT)
    except SpendLimitReached as stop:
        raise failed(_explain(source, stop.status, error_codes(stop.body))) from None
    except REQUEST_FAILURES as failure:
        raise failed(
            f"{source.name} could not be reached at {display_url(config.base_url)} ({type(failure).__name__}): "
            f"check {source.base_url_setting}"
        ) from None
    if is_redirect(response.status_code):
        raise failed(redirect_message(source.name, path, response.status_code, source.base_url_setting))
    if response.status_code >= 400:
        raise failed(_explain(source, response.status_code, error_codes(response.content)))
    body = decode_json_body(response)
    if body is None:
        raise failed(
            f"{source.name} returned a body that is not JSON from {path} (HTTP {response.status_code}, "
            f"{len(response.content)} bytes): cut off or not this API; check {source.base_url_setting}"
        )
    return body

