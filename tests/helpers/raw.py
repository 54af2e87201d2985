"""HTTP over a raw loopback socket: requests no client library sends (a foreign or absent Host)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        assert self.headers["content-type"].startswith("application/json"), self.headers
        return orjson.loads(self.body)


async def read_answer(reader: asyncio.StreamReader, patience: float = 10) -> RawAnswer:
    """The next answer on a connection, read to its declared length within `patience` s."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), patience)
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip()
               for k, _, v in (line.partition(":") for line in lines if line)}
    length = int(headers.get("content-length", "0"))
    body = await asyncio.wait_for(reader.readexactly(length), patience)
    return RawAnswer(int(status_line.split()[1]), headers, body)


async def send(host: str, port: int, request: bytes) -> RawAnswer:
    """`request` byte for byte on a new connection; the answer, read to its declared length."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        await writer.drain()
        return await read_answer(reader)
    finally:
        writer.close()


def raw_request(method: str, path: str, *headers: str, body: bytes = b"",
                version: str = "HTTP/1.1") -> bytes:
    """A request line, `headers` ("Name: value") as given, and `body` with its length."""
    head = "".join(f"{h}\r\n" for h in headers)
    length = f"Content-Length: {len(body)}\r\n" if body else ""
    return f"{method} {path} {version}\r\n{head}{length}\r\n".encode() + body
