"""A local HTTP server on 127.0.0.1 that speaks providers' real API formats.

The demo serves its generated provider and CRM data through it, and the tests point the real
clients at it: external APIs are faked only at the network edge, never by patching our code.
Faults are injected per path (429 with Retry-After, 5xx, 401, a truncated body) so retry and
failure handling are exercised over real sockets.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson


@dataclass
class FakeRequest:
    """What a handler sees of a request."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The request body parsed as JSON (None when empty)."""
        return orjson.loads(self.body) if self.body else None

    def param(self, name: str, default: str | None = None) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class FakeResponse:
    """A response: JSON (dict/list) or raw bytes, with status and headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        """The body as bytes (JSON-encoded unless already bytes)."""
        if isinstance(self.body, bytes):
            return self.body
        return b"" if self.body is None else orjson.dumps(self.body)


Handler = Callable[[FakeRequest], FakeResponse]


class FakeApiServer:
    """Routes by method and path prefix; records every request; serves injected faults first."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, str, Handler]] = []
        self._faults: dict[str, deque[FakeResponse]] = {}
        self._lock = threading.Lock()
        self.requests: list[FakeRequest] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def route(self, method: str, path: str, handler: Handler) -> None:
        """Serve `handler` for `method` requests whose path starts with `path` (longest prefix wins)."""
        self._routes.append((method.upper(), path, handler))
        self._routes.sort(key=lambda item: len(item[1]), reverse=True)

    def inject(self, path: str, *responses: FakeResponse) -> None:
        """Answer the next requests under `path` with `responses`, in order, before the handler."""
        with self._lock:
            self._faults.setdefault(path, deque()).extend(responses)

    def requests_to(self, path: str) -> list[FakeRequest]:
        """The recorded requests whose path starts with `path`."""
        return [r for r in self.requests if r.path.startswith(path)]

    def _dispatch(self, request: FakeRequest) -> FakeResponse:
        with self._lock:
            self.requests.append(request)
            for prefix, queue in self._faults.items():
                if request.path.startswith(prefix) and queue:
                    return queue.popleft()
        for method, prefix, handler in self._routes:
            if method == request.method and request.path.startswith(prefix):
                return handler(request)
        return FakeResponse(404, {"error": {"message": f"no route for {request.method} {request.path}"}})

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:<port> of the running server."""
        if self._httpd is None:
            raise RuntimeError("the fake API server is not running")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> str:
        """Start on a free port in a daemon thread; return the base URL."""
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = FakeRequest(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                response = server._dispatch(request)
                payload = response.encoded()
                self.send_response(response.status)
                headers = {"Content-Type": "application/json", **response.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _handle  # noqa: N815 - http.server's naming
            do_POST = _handle  # noqa: N815

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                """Quiet: tests and the demo print what matters themselves."""

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-api", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeApiServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
