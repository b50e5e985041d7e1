"""What stands in front of every request: the body size limit, the rate limit, the
bearer token check and an access log of paths only.

- **Size**: a body larger than ``max_body`` bytes (default :data:`MAX_BODY`, 1 MiB: a
  batch of 100 patients with FHIR bundles fits) is refused with 413 before the
  application reads it;
- **Rate**: a token bucket per client address: ``rate`` requests per second sustained,
  bursts of ``burst`` (defaults :data:`RATE` = 50/s, :data:`BURST` = 100); beyond it 429
  with ``Retry-After``. Health endpoints are exempt (probes poll them);
- **Token**: ``Authorization: Bearer <token>``, compared in constant time
  (:func:`hmac.compare_digest`); missing or wrong: 401 with ``WWW-Authenticate: Bearer``;
- **Log**: one line per request on the ``prom.server.access`` logger — method, the route
  as declared (``/v1/bundles/{bundle_id}/model-card``: never a path parameter or a path
  as sent), status, milliseconds. Never a header, a query or a body.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

__all__ = ["Guard", "token_matches", "MAX_BODY", "RATE", "BURST", "PUBLIC_PATHS", "problem_body"]

MAX_BODY = 1 << 20
RATE = 50.0
BURST = 100
#: Paths answered without a token and without the rate limit.
PUBLIC_PATHS: frozenset[str] = frozenset({"/v1/health", "/v1/ready"})

access_log = logging.getLogger("prom.server.access")
error_log = logging.getLogger("prom.server")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def token_matches(given: str | None, expected: str) -> bool:
    """Whether ``given`` is the service's token (constant-time comparison)."""
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def problem_body(status: int, title: str, detail: str, errors: Iterable[dict] = ()) -> bytes:
    """An RFC 9457 problem document as bytes."""
    return json.dumps(
        {
            "type": f"https://spine-prom.example/problems/{status}",
            "title": title,
            "status": status,
            "detail": detail,
            "errors": list(errors),
        }
    ).encode("utf-8")


class _Bucket:
    __slots__ = ("at", "tokens")

    def __init__(self, tokens: float, at: float):
        self.tokens = tokens
        self.at = at


class Guard:
    """ASGI middleware: size limit, rate limit, token and access log (module docstring)."""

    def __init__(
        self,
        app: Any,
        *,
        token: str,
        max_body: int = MAX_BODY,
        rate: float = RATE,
        burst: int = BURST,
        open_paths: Iterable[str] = (),
    ):
        if not token:
            raise ValueError("the service needs a non-empty bearer token")
        self.app = app
        self.token = token
        self.max_body = int(max_body)
        self.rate = float(rate)
        self.burst = int(burst)
        self.public = PUBLIC_PATHS | frozenset(open_paths)
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def _allowed(self, client: str) -> float | None:
        """``None`` when the client may go on, else the seconds until it may."""
        if self.rate <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            b = self._buckets.get(client)
            if b is None:
                b = self._buckets[client] = _Bucket(float(self.burst), now)
                if len(self._buckets) > 10_000:  # forget idle clients
                    self._buckets = {client: b}
            b.tokens = min(float(self.burst), b.tokens + (now - b.at) * self.rate)
            b.at = now
            if b.tokens >= 1.0:
                b.tokens -= 1.0
                return None
            return (1.0 - b.tokens) / self.rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        path = scope.get("path", "")
        method = scope.get("method", "")
        status = {"code": 0}

        async def send_logged(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self._guarded(scope, receive, send_logged, path)
        except Exception as e:  # noqa: BLE001 - logged by type: a message may quote a value
            # Starlette re-raises an application's exception after its 500 handler has
            # answered, for the server to log with its traceback — which could quote a
            # patient's value. It stops here: logged by type only, answered once.
            error_log.error("internal error on %s %s: %s", method, path, type(e).__name__)
            if status["code"] == 0:
                await _problem(send_logged, 500, "Internal error", "the service failed")
        finally:
            ms = 1000 * (time.perf_counter() - start)
            access_log.info("%s %s %s %.1f ms", method, self._logged(scope), status["code"], ms)

    def _logged(self, scope: Scope) -> str:
        """The request's route as the service declares it (``/v1/bundles/{bundle_id}/
        model-card``), never the path as sent: a path parameter, or a path matching no
        route, is the client's text, which may hold a patient's name."""
        route = scope.get("route")
        if route is None:  # not routed (refused before it, or no route): find its route
            from starlette.routing import Match

            for r in getattr(self.app, "routes", ()):
                if r.matches({**scope, "type": "http"})[0] is not Match.NONE:
                    route = r
                    break
        return str(getattr(route, "path", None) or "(a path matching no route)")

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        public = path in self.public
        if not public:
            client = (scope.get("client") or ("?", 0))[0]
            wait = self._allowed(str(client))
            if wait is not None:
                await _problem(
                    send,
                    429,
                    "Too many requests",
                    f"more than {self.rate:g} requests per second (bursts of {self.burst}) "
                    "from this client; retry later",
                    {"retry-after": str(max(1, round(wait + 0.5)))},
                )
                return
            if not token_matches(_bearer(scope), self.token):
                await _problem(
                    send,
                    401,
                    "Unauthorized",
                    "this endpoint needs the header 'Authorization: Bearer <token>' with the "
                    "service's token",
                    {"www-authenticate": 'Bearer realm="prom"'},
                )
                return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await _too_large(send, self.max_body)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_body:
                await _too_large(send, self.max_body)
                return
            chunks.append(body)
            more = message.get("more_body", False)
        whole = b"".join(chunks)
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": whole, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers") or ():
        if k.lower() == name:
            return v.decode("latin-1").strip()
    return None


def _bearer(scope: Scope) -> str | None:
    value = _header(scope, b"authorization")
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


async def _problem(
    send: Send, status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> None:
    body = problem_body(status, title, detail)
    raw = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
    ]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _too_large(send: Send, limit: int) -> None:
    await _problem(
        send,
        413,
        "Request body too large",
        f"the body is larger than {limit} bytes; send fewer patients per batch",
    )
