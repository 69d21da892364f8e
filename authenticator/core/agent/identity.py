"""The program the approval and the journal show, made from the peer's identity.

``core.peer`` reads what the kernel and ``/proc`` say (raw, the program's claims kept as it chose
them); :func:`program_of` turns that into a :class:`~authenticator.core.model.Program` whose
names, paths and chain are cleaned for display (``protocol.outside.clean``, origin "claimed by
the program") while the raw identity rides along for keys and re-checks.
"""

from __future__ import annotations

from authenticator.core.model import Program
from authenticator.core.peer import PeerIdentity, shown, user_name
from authenticator.protocol.outside import LIMITS

__all__ = ["program_of"]


def program_of(identity: PeerIdentity | None) -> Program:
    """The :class:`Program` for ``identity`` (``"a local program"`` when the OS did not say)."""
    if identity is None:
        return Program(name="a local program")
    return Program(
        name=shown(identity.name, LIMITS.program) or f"pid {identity.pid}",
        pid=identity.pid,
        path=shown(identity.exe, LIMITS.path),
        uid=identity.uid,
        user=user_name(identity.uid),
        script=shown(identity.script, LIMITS.path),
        interpreter=identity.interpreter,
        start_time=identity.start_time,
        chain=tuple(shown(n, LIMITS.program) or "?" for n in identity.chain),
        remote=identity.remote is not None,
        identity=identity,
    )
