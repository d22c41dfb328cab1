"""Request body limits (issue #13 item 3): refused with 413 before routing, authentication or parsing, from
the declared length or, for chunked bodies, as soon as the bytes received pass the limit."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from fastapi.testclient import TestClient

from jingwu.platform.container import Container
from jingwu.platform.http import BodyLimitMiddleware
from support import Org, login

MIB = 1 << 20


def test_declared_oversized_body_is_refused_before_authentication(client: TestClient) -> None:
    # no credentials: a body limit that ran after authentication would answer 401
    r = client.post("/api/v1/calls", content=b"x" * (MIB + 1), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"


def test_chunked_oversized_body_is_refused(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: the server only learns the size by reading
        for _ in range(40):
            yield b"x" * 65536

    r = client.post("/api/v1/calls", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"


def test_body_under_the_limit_reaches_the_route(client: TestClient, org: Org) -> None:
    h = login(client, "disp_a", org.passwords["disp_a"])
    pad = " " * (MIB - 400)  # JSON with trailing white space just under 1 MiB
    body = ('{"channel": "phone", "type_code": "020200", "lon": 104.06, "lat": 30.66}' + pad).encode()
    r = client.post("/api/v1/calls", content=body, headers={**h, "content-type": "application/json"})
    assert r.status_code == 201, r.text  # parsed and stored: the padding did not trip the limit


def test_upload_routes_take_the_larger_limit(container: Container, client: TestClient, org: Org) -> None:
    h = login(client, "admin", org.passwords["admin"])
    big = b"x" * (2 * MIB)  # above the default limit, below the upload limit: the route itself answers
    r = client.post("/api/v1/admin/towns", content=big, headers={**h, "content-type": "application/json"})
    assert r.status_code == 422, r.text
    huge = b"x" * (container.settings.large_body_limit_bytes + 1)
    r = client.post("/api/v1/admin/towns", content=huge, headers={**h, "content-type": "application/json"})
    assert r.status_code == 413


def test_middleware_stops_reading_a_stream_past_the_limit() -> None:
    """The application below reads the whole body; the middleware cuts the stream right after the limit,
    so at most one chunk beyond it is ever taken from the client, and the answer is 413."""
    seen: dict[str, int] = {"app_bytes": 0, "pulled": 0}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            m = await receive()
            seen["app_bytes"] += len(m.get("body", b""))
            if not m.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    chunk = b"y" * 1000

    async def receive() -> dict[str, Any]:
        seen["pulled"] += 1
        return {"type": "http.request", "body": chunk, "more_body": seen["pulled"] < 10_000}

    sent: list[dict[str, Any]] = []

    async def send(m: dict[str, Any]) -> None:
        sent.append(m)

    mw = BodyLimitMiddleware(app, limit=5000, large_limit=10_000)
    asyncio.run(mw({"type": "http", "path": "/x", "headers": [], "method": "POST"}, receive, send))
    assert sent[0]["status"] == 413
    assert seen["pulled"] == 6  # 6 x 1000 bytes passed 5000: nothing more was read
    assert seen["app_bytes"] == 5000
