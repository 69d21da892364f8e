"""The emulator answers keep-alive requests without the ~40 ms Nagle/delayed-ACK stall.

``server._bind`` used to create the listening socket with protocol 0; asyncio sets TCP_NODELAY
only when a socket's ``proto`` is ``IPPROTO_TCP`` (accepted sockets inherit it), so each answer
on a reused connection waited for the client's delayed ACK: ~44 ms per broker call, which made
the broker path and every broker test slow (``benchmarks/run.py`` prints the round trip). The
test checks the cause, not a timing: a connection accepted on the emulator's listening socket,
by asyncio as uvicorn does, has TCP_NODELAY set.
"""

from __future__ import annotations

import asyncio
import socket

from authenticator.emulator.server import _bind


def test_listening_socket_says_tcp() -> None:
    sock = _bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_accepted_connections_have_nodelay() -> None:
    async def scenario() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peer = writer.get_extra_info("socket")
            accepted.set_result(peer.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        listener = _bind("127.0.0.1", 0)
        server = await asyncio.start_server(on_client, sock=listener)
        async with server:
            port = listener.getsockname()[1]
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            value = await asyncio.wait_for(accepted, 10)
            writer.close()
        return value

    assert asyncio.run(scenario()) != 0
