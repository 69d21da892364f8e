"""The emulator answers keep-alive requests without the ~40 ms Nagle/delayed-ACK stall.

``server._bind`` used to create the listening socket with protocol 0; asyncio sets TCP_NODELAY
only when a socket's ``proto`` is ``IPPROTO_TCP`` (accepted sockets inherit it), so each answer
on a reused connection waited for the client's delayed ACK: ~44 ms per broker call, which made
the broker path and every broker test slow. The median of sequential requests on one kept-alive
connection must now be far below that stall (loopback answers take about a millisecond).
"""

from __future__ import annotations

import statistics
import time

from authenticator.emulator.server import RunningEmulator
from authenticator.net.broker import BrokerClient


def test_sequential_keep_alive_requests_do_not_stall(emu: RunningEmulator) -> None:
    with BrokerClient(emu.urls.broker, timeout=5.0) as broker:
        broker.session()  # open the connection
        gets, posts = [], []
        for _ in range(5):
            started = time.perf_counter()
            broker.session()
            gets.append(time.perf_counter() - started)
            started = time.perf_counter()
            broker.allbypid([])
            posts.append(time.perf_counter() - started)
    assert statistics.median(gets) < 0.030, gets
    assert statistics.median(posts) < 0.030, posts
