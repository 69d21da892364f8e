"""``TaskRunner``: run Qt-free core calls off the GUI thread, deliver the result on it.

The GUI thread never waits on the network, a KDF or the keychain (docs/architecture.md). A window
hands the runner a plain callable (``lambda: core.approve(rid, period)``) and two callbacks; the
callable runs on a ``QThreadPool`` worker, and its result — or its error — comes back through one
queued signal to the GUI thread, where the callbacks run.

Two rules make it safe to use from any widget (the pattern of Anki's ``QueryOp`` and Electrum's
``TaskThread``):

* a callback dies with the ``QObject`` that asked: if the widget was deleted while the call was
  running, its callbacks are dropped instead of touching a dead C++ object;
* errors are already words: an :class:`~authenticator.errors.AuthenticatorError` gives its own
  message (one sentence, never a secret); anything else is logged (the log redacts) and reported
  as a generic sentence, never as a traceback in a widget.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QObject, QThreadPool, Signal

from authenticator.errors import AuthenticatorError
from authenticator.gui.qtfix import emit

__all__ = ["GENERIC_ERROR", "TaskRunner", "error_text"]

log = logging.getLogger(__name__)

T = TypeVar("T")

GENERIC_ERROR = "Something went wrong; the details are in the app's log file."


def error_text(exc: BaseException) -> str:
    """What a person reads about ``exc``: its own message, or a generic sentence."""
    if isinstance(exc, AuthenticatorError):
        return str(exc)
    return GENERIC_ERROR


@dataclass
class _Pending(Generic[T]):
    name: str
    on_done: Callable[[T], None] | None
    on_error: Callable[[str, BaseException], None] | None
    owner: QObject | None


class TaskRunner(QObject):
    """A thread pool for core calls whose callbacks run on the GUI thread.

    ``run(fn, on_done, on_error, owner=widget)`` returns at once. ``busy`` counts calls still
    running (the tests and the shutdown wait on it through :meth:`wait_idle`).
    """

    _finished = Signal(int, bool, object)
    idle = Signal()
    """Emitted on the GUI thread whenever the last running call has delivered its result."""

    def __init__(self, parent: QObject | None = None, *, max_threads: int = 4) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending[Any]] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._finished.connect(self._deliver)

    @property
    def busy(self) -> int:
        """How many calls have not delivered their result yet."""
        with self._lock:
            return len(self._pending)

    def run(
        self,
        fn: Callable[[], T],
        on_done: Callable[[T], None] | None = None,
        on_error: Callable[[str, BaseException], None] | None = None,
        *,
        owner: QObject | None = None,
        name: str = "",
    ) -> int:
        """Run ``fn()`` on a worker; ``on_done(result)`` or ``on_error(message, exc)`` follow on
        the GUI thread, unless ``owner`` was deleted meanwhile. Returns the task's number."""
        if self._closed:
            log.info("task %s refused: the app is closing", name or fn)
            return 0
        task_id = next(self._ids)
        with self._lock:
            self._pending[task_id] = _Pending(
                name or getattr(fn, "__name__", "task"), on_done, on_error, owner
            )
        signal = self._finished

        def work() -> None:
            try:
                result = fn()
            except BaseException as exc:  # noqa: BLE001 - every failure goes back as words
                emit(signal, task_id, False, exc)
            else:
                emit(signal, task_id, True, result)

        self._pool.start(work)
        return task_id

    def _deliver(self, task_id: int, ok: bool, payload: object) -> None:
        with self._lock:
            pending = self._pending.pop(task_id, None)
            left = len(self._pending)
        if pending is not None:
            self._call(pending, ok, payload)
        if left == 0:
            emit(self.idle)

    @staticmethod
    def _call(pending: _Pending[Any], ok: bool, payload: object) -> None:
        owner = pending.owner
        if owner is not None and not shiboken6.isValid(owner):
            log.debug("task %s finished after its window closed", pending.name)
            return
        if ok:
            if pending.on_done is not None:
                pending.on_done(payload)
            return
        assert isinstance(payload, BaseException)  # noqa: S101 - the worker sends exceptions
        if not isinstance(payload, AuthenticatorError):
            log.error(
                "task %s failed unexpectedly",
                pending.name,
                exc_info=(type(payload), payload, payload.__traceback__),
            )
        if pending.on_error is not None:
            pending.on_error(error_text(payload), payload)

    def wait_idle(self, timeout_ms: int = 5000) -> bool:
        """Block until every worker has finished (shutdown and tests only)."""
        return bool(self._pool.waitForDone(timeout_ms))

    def close(self, timeout_ms: int = 5000) -> None:
        """Refuse new work and wait (bounded) for the running calls."""
        self._closed = True
        self._pool.clear()
        self._pool.waitForDone(timeout_ms)
