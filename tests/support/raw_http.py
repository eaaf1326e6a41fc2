"""A raw HTTP/1.1 server on loopback that answers bytes a test chooses (wire regression tests)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

__all__ = ["RawServer"]


class RawServer:
    """Reads HTTP/1.1 requests (head and ``content-length`` body) and answers ``answer(n)``.

    Records every request with the number of the connection it came on, and how many
    connections are open right now.
    """

    def __init__(self, answer: Callable[[int], bytes]) -> None:
        self.answer = answer
        self.requests: list[tuple[int, bytes]] = []
        self.connections = 0
        self.open = 0
        self.port = 0
        self.none_open = asyncio.Event()
        """Set while no connection is open."""
        self.none_open.set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = self.connections
        self.connections += 1
        self.open += 1
        self.none_open.clear()
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                self.requests.append((number, head + body))
                writer.write(self.answer(len(self.requests)))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            if not self.open:
                self.none_open.set()
            writer.close()

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[RawServer]:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        async with server:
            yield self

    def bodies(self) -> list[bytes]:
        return [request.partition(b"\r\n\r\n")[2] for _, request in self.requests]
