"""``authenticator --diagnostics``: what a bug report needs, and nothing secret.

Versions, paths, the keychain backend, whether the app is running, "This desktop" (display
server, tray host, notification server and whether it draws actions, screenshot portal, keychain,
lock signals, what the idle lock counts — each works / missing with its fix, ``gui.desktop``),
and whether each paired HEM and broker answers. No key, token, passphrase, pid or e-mail address
is printed.
"""

from __future__ import annotations

import importlib.metadata
import platform
import sys
from collections.abc import Mapping
from typing import Any

from authenticator import __version__

__all__ = ["PACKAGES", "collect", "render"]

# The distributions whose versions a bug report needs (the bundle ships their metadata too).
PACKAGES = (
    "PySide6-Essentials",
    "PyNaCl",
    "PyJWT",
    "httpx",
    "cryptography",
    "keyring",
    "qrcode",
    "zxing-cpp",
    "platformdirs",
    "starlette",
    "uvicorn",
    "jeepney",
)


def _versions() -> dict[str, str]:
    out = {"authenticator": __version__, "python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _reachability(core: Any) -> list[dict[str, Any]]:
    from authenticator.core.pairings import hem_url_of
    from authenticator.errors import AuthenticatorError

    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for rec in core.vault.pairings:
        if rec.broker_url and rec.broker_url not in seen:
            seen.add(rec.broker_url)
            try:
                core.net.broker(rec.broker_url).allbypid([])
                rows.append({"what": "broker", "address": rec.broker_url, "ok": True})
            except AuthenticatorError as exc:
                rows.append(
                    {"what": "broker", "address": rec.broker_url, "ok": False, "error": exc.code}
                )
        try:
            url = hem_url_of(rec)
            with core.net.hem(url, pinned_cert=rec.cert_pem) as hem:
                hem.status()
            rows.append({"what": f"HEM {rec.name}", "address": url, "ok": True})
        except AuthenticatorError as exc:
            rows.append(
                {
                    "what": f"HEM {rec.name}",
                    "address": rec.hem_url or rec.hostname,
                    "ok": False,
                    "error": exc.code,
                }
            )
    return rows


def collect(home: str | None, environ: Mapping[str, str]) -> dict[str, Any]:
    from authenticator.core.agent_client import AgentClient, AgentNotRunning
    from authenticator.core.app import Core
    from authenticator.errors import AuthenticatorError
    from authenticator.store.paths import AppPaths

    paths = AppPaths.resolve(home, environ)
    report: dict[str, Any] = {
        "versions": _versions(),
        "platform": platform.platform(),
        "desktop": environ.get("XDG_CURRENT_DESKTOP", ""),
        "display": bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")),
        "paths": {
            "data": str(paths.data_dir),
            "config": str(paths.config_dir),
            "logs": str(paths.log_dir),
            "agent_socket": str(paths.agent_socket),
        },
    }
    core = Core(paths)
    report["keychain"] = {
        "backend": core.keychain.name,
        "available": core.keychain_available(),
    }
    report["store"] = {"exists": core.has_store(), "protection": core.store_mode()}
    try:
        ping = AgentClient(paths.agent_socket).ping()
        report["app"] = {
            "running": True,
            "locked": ping.get("locked"),
            "version": ping.get("version"),
        }
    except AgentNotRunning:
        report["app"] = {"running": False}
    except AuthenticatorError as exc:
        report["app"] = {"running": None, "error": exc.code}
    try:
        from authenticator.gui.desktop import as_json, checks, gather

        facts = gather(environ, keychain=bool(report["keychain"]["available"]))
        report["desktop_support"] = facts
        report["this_desktop"] = as_json(checks(facts))
    except Exception as exc:  # noqa: BLE001 - diagnostics must never crash on a broken desktop
        report["desktop_support"] = {"error": type(exc).__name__}
        report["this_desktop"] = []
    reach: list[dict[str, Any]] | str
    try:
        if core.store_mode() == "keychain":
            core.unlock()
        elif core.store_mode() == "passphrase" and environ.get("AUTHENTICATOR_PASSPHRASE"):
            core.unlock(environ["AUTHENTICATOR_PASSPHRASE"])
        reach = _reachability(core) if not core.locked else "locked (not checked)"
    except AuthenticatorError as exc:
        reach = f"not checked ({exc.code})"
    finally:
        core.close()
    report["reachability"] = reach
    return report


def render(report: Mapping[str, Any]) -> str:
    lines = ["Encedo Desktop Authenticator diagnostics", ""]
    lines.append("Versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()))
    lines.append(
        f"Platform: {report['platform']} (desktop {report['desktop'] or 'unknown'}, "
        f"display {'yes' if report['display'] else 'no'})"
    )
    for key, value in report["paths"].items():
        lines.append(f"Path {key}: {value}")
    kc = report["keychain"]
    lines.append(
        f"Keychain: {kc['backend']} ({'available' if kc['available'] else 'not available'})"
    )
    st = report["store"]
    lines.append(f"Store: {'present, ' + str(st['protection']) if st['exists'] else 'none yet'}")
    app = report["app"]
    lines.append(
        "App: "
        + (
            "running" + (", locked" if app.get("locked") else "")
            if app.get("running")
            else "not running"
        )
    )
    rows = report.get("this_desktop") or []
    if rows:
        width = max(len(row["title"]) for row in rows)
        lines.append("This desktop:")
        for row in rows:
            lines.append(f"  {row['title']:<{width}}  {row['state']:<7}  {row['detail']}")
            if row["fix"]:
                lines.append(f"  {'':<{width}}  {'':<7}  fix: {row['fix']}")
    else:
        lines.append(f"This desktop: not checked ({report['desktop_support']})")
    reach = report["reachability"]
    if isinstance(reach, str):
        lines.append(f"Reachability: {reach}")
    else:
        for row in reach:
            state = "ok" if row["ok"] else f"FAILED ({row.get('error')})"
            lines.append(f"Reachability {row['what']} {row['address']}: {state}")
    return "\n".join(lines)
