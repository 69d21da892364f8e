"""``BrokerClient``: the notify service (spec/protocol.md §9), both sides.

The app side answers pairings and events; the requester side (used by the emulator's Manager
role and by tests) creates them. ``https://`` only, except plain ``http://`` to loopback (the
built-in emulator). Status codes become the typed errors of §8 in ``transport``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from authenticator.errors import BadResponseError, DecodeError
from authenticator.net.transport import Transport
from authenticator.protocol.access import BrokerEvent, parse_allbypid
from authenticator.protocol.b64 import pidx
from authenticator.protocol.jsonutil import get_str
from authenticator.protocol.keys import PublicKey
from authenticator.protocol.pairing import parse_pid_response
from authenticator.protocol.urls import check_url, origin_of

__all__ = ["BrokerClient"]


class BrokerClient:
    """The broker at ``origin`` (``scheme://host[:port]``; paths are the spec's ``/notify/…``)."""

    def __init__(self, origin: str, *, timeout: float = 15.0, verify: Any = True) -> None:
        self.origin = origin_of(origin)
        self._t = Transport(peer="the broker", timeout=timeout, verify=verify)

    def close(self) -> None:
        self._t.close()

    def __enter__(self) -> BrokerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ plumbing

    def _url(self, path: str) -> str:
        return f"{self.origin}{path}"

    def _obj(self, method: str, url: str, body: Any = None) -> dict[str, Any]:
        answer = self._t.request(method, url, body=body)
        return {} if answer.data is None else self._t.json_object(answer)

    def _decode(self, what: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except DecodeError as exc:
            raise BadResponseError(f"The broker's {what} is malformed.") from exc

    def _event_url(self, event_id: str, pid: str) -> str:
        return self._url(
            f"/notify/event/data/{quote(event_id, safe='')}/{quote(pidx(pid), safe='')}"
        )

    def _link(self, link: str) -> str:
        url = check_url(link, what="pairing link")
        if origin_of(url) != self.origin:
            raise DecodeError("The pairing link does not belong to this broker.")
        return url

    # ------------------------------------------------------------------ app side: pairing

    def get_pairing(self, link: str) -> dict[str, Any]:
        """``GET <link>`` → ``{request, ipinfo_eid}`` (404: the code expired)."""
        answer = self._obj("GET", self._link(link))
        self._decode("pairing request", get_str, answer, "request")
        return answer

    def accept_pairing(self, link: str, body: Mapping[str, str]) -> str:
        """``POST <link>`` with ``{reply, fid, mac, aid}`` → the pid."""
        return str(
            self._decode(
                "pairing id", parse_pid_response, self._obj("POST", self._link(link), body)
            )
        )

    def refuse_pairing(self, link: str, body: Mapping[str, str]) -> None:
        """``DELETE <link>`` with the same four-field body (never the private key)."""
        self._obj("DELETE", self._link(link), body)

    # ------------------------------------------------------------------ app side: events

    def allbypid(self, pids: list[str]) -> dict[str, str]:
        """Pending events for ``pids`` in one call → ``{event id: pid}``."""
        answer = self._obj("POST", self._url("/notify/event/data/allbypid"), {"pid": pids})
        return dict(self._decode("list of pending events", parse_allbypid, answer))

    def get_event(self, event_id: str, pid: str) -> BrokerEvent:
        answer = self._obj("GET", self._event_url(event_id, pid))
        event: BrokerEvent = self._decode("event", BrokerEvent.from_json, event_id, answer)
        return event

    def answer_event(self, event_id: str, pid: str, body: Mapping[str, str]) -> None:
        """Approve: ``POST`` ``{authreply, mac}``."""
        self._obj("POST", self._event_url(event_id, pid), body)

    def deny_event(self, event_id: str, pid: str) -> None:
        """Deny: ``DELETE`` with ``{}``."""
        self._obj("DELETE", self._event_url(event_id, pid), {})

    # ------------------------------------------------------------------ app side: unpair

    def session_for_aid(self, aid: str) -> PublicKey:
        answer = self._obj("POST", self._url("/notify/session"), {"aid": aid})
        epk: PublicKey = self._decode(
            "session key", lambda a: PublicKey.from_b64(get_str(a, "epk")), answer
        )
        return epk

    def delete_subscriber(self, body: Mapping[str, str]) -> None:
        """``POST /notify/subscribers/delete`` (app side: ``{pid, epk, nonce, mac, aid}``)."""
        self._obj("POST", self._url("/notify/subscribers/delete"), body)

    # ------------------------------------------------------------------ requester side

    def session(self) -> dict[str, Any]:
        """``GET /notify/session`` → ``{epk, exp}``."""
        return self._obj("GET", self._url("/notify/session"))

    def session_for_eid(self, eid: str) -> dict[str, Any]:
        return self._obj("POST", self._url("/notify/session"), {"eid": eid})

    def register_init(self, request: str, eid: str, epk: str) -> dict[str, Any]:
        body = {"request": request, "eid": eid, "epk": epk}
        return self._obj("POST", self._url("/notify/register/init"), body)

    def register_check(self, rid: str) -> dict[str, Any] | None:
        """``None`` while the app has not answered (202)."""
        answer = self._t.request("GET", self._url(f"/notify/register/check/{quote(rid, safe='')}"))
        if answer.status == 202:
            return None
        return self._t.json_object(answer)

    def register_finalise(self, rid: str, kid: str, code: str) -> None:
        url = self._url(f"/notify/register/finalise/{quote(rid, safe='')}")
        self._obj("POST", url, {"kid": kid, "code": code})

    def event_new(self, authreq: str, epk: str) -> dict[str, Any]:
        return self._obj("POST", self._url("/notify/event/new"), {"authreq": authreq, "epk": epk})

    def event_check(self, event_id: str) -> dict[str, Any] | None:
        """``None`` while pending (202); ``{authreply,…}`` or ``{deny: true}`` once answered."""
        url = self._url(f"/notify/event/check/{quote(event_id, safe='')}")
        answer = self._t.request("GET", url)
        if answer.status == 202:
            return None
        return self._t.json_object(answer)

    def event_cancel(self, event_id: str) -> None:
        self._obj("DELETE", self._url(f"/notify/event/{quote(event_id, safe='')}"))

    def subscribers_list(self, body: Mapping[str, str]) -> list[Any]:
        answer = self._t.request("POST", self._url("/notify/subscribers/list"), body=body)
        if not isinstance(answer.data, list):
            raise BadResponseError("The broker's list of subscribers is malformed.")
        return answer.data

    def subscribers_delete(self, body: Mapping[str, str]) -> None:
        self._obj("POST", self._url("/notify/subscribers/delete"), body)

    @staticmethod
    def post_checkin(backend_url: str, check: str, *, timeout: float = 15.0) -> str:
        """The check-in backend: ``POST <backend>/checkin {check}`` → ``checked``."""
        origin = origin_of(backend_url)
        with Transport(peer="the check-in service", timeout=timeout) as t:
            answer = t.json_object(t.request("POST", f"{origin}/checkin", body={"check": check}))
        try:
            return get_str(answer, "checked", what="check-in answer")
        except DecodeError as exc:
            raise BadResponseError("The check-in service's answer is malformed.") from exc
