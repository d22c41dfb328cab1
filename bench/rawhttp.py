"""A minimal HTTP/1.1 keep-alive client on asyncio streams, for load generation.

httpx spends several milliseconds of CPU per request under hundreds of
concurrent tasks; on a 2-core machine the load generator then takes the CPU
the server under test needs. This client does only what the benchmarks need
(JSON bodies, Content-Length responses, a fixed pool of connections) at a
small fraction of that cost.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any


class RawPool:
    def __init__(self, host: str, port: int, size: int = 64, headers: dict[str, str] | None = None) -> None:
        self.host = host
        self.port = port
        self.size = size
        self.base_headers = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def start(self) -> None:
        for _ in range(self.size):
            self._free.put_nowait(await asyncio.open_connection(self.host, self.port))

    async def close(self) -> None:
        while not self._free.empty():
            _r, w = self._free.get_nowait()
            w.close()

    async def request(self, method: str, path: str, body: Any = None,
                      headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """(status, parsed JSON body or None). Reconnects once if the server closed an idle connection."""
        data = json.dumps(body).encode() if body is not None else b""
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.base_headers}{extra}"
                + (f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n" if body is not None else "")
                + "\r\n").encode()
        r, w = await self._free.get()
        try:
            for attempt in range(2):
                try:
                    w.write(head + data)
                    status_line = await r.readline()
                    if not status_line:
                        raise ConnectionResetError("closed")
                    status = int(status_line.split()[1])
                    length = 0
                    while True:
                        line = await r.readline()
                        if line in (b"\r\n", b""):
                            break
                        name, _, value = line.partition(b":")
                        if name.lower() == b"content-length":
                            length = int(value)
                    payload = await r.readexactly(length) if length else b""
                    return status, (json.loads(payload) if payload else None)
                except (ConnectionError, asyncio.IncompleteReadError):
                    if attempt:
                        raise
                    w.close()
                    r, w = await asyncio.open_connection(self.host, self.port)
            raise AssertionError("unreachable")
        finally:
            self._free.put_nowait((r, w))
