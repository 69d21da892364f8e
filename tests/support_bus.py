"""A hung session bus: a Unix socket that accepts connections and never says a word.

A pytest plugin (listed in ``tests/conftest.py``): the ``silent_bus`` fixture yields its D-Bus
address, for the tests that check a hung bus costs a bounded wait and nothing more.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def silent_bus(tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "bus"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    worker = threading.Thread(target=accept, daemon=True)
    worker.start()
    yield f"unix:path={path}"
    stop.set()
    worker.join(5)
    for conn in accepted:
        conn.close()
    server.close()
