"""Privacy controls: retention per application, erasure and export by user tag or session.

Retention defaults come from settings; an application may override them in its config:
``{"retention_days": {"events": 30, "sessions": 90, "diagnostics": 7}}``. Every erasure and
export is written to the audit log by the caller (the API or the CLI), with who asked.
"""

from __future__ import annotations

from typing import Any

from openrum.settings import Settings
from openrum.sourcemaps import MapStore, open_maps
from openrum.store.base import App, Store

DAY_MS = 86_400_000


def cutoffs(app: App, settings: Settings, now_ms: int) -> tuple[int, int]:
    """(events before, sessions before) in epoch ms for an application at ``now_ms``."""
    days = app.config.get("retention_days") or {}
    events = int(days.get("events", settings.retention_events_days))
    sessions = int(days.get("sessions", settings.retention_sessions_days))
    return now_ms - events * DAY_MS, now_ms - sessions * DAY_MS


def expire_all(store: Store, settings: Settings, now_ms: int) -> dict[str, int]:
    """Apply every application's retention; rows deleted per table (and ``sourcemaps``: the
    releases whose source maps were removed)."""
    total: dict[str, int] = {}
    maps = open_maps(settings)
    for app in store.list_apps():
        events_before, sessions_before = cutoffs(app, settings, now_ms)
        for table, n in store.expire(app.id, events_before, sessions_before).items():
            total[table] = total.get(table, 0) + n
        days = (app.config.get("retention_days") or {}).get(
            "diagnostics", settings.retention_diagnostics_days
        )
        gone = store.expire_diagnostics(app.id, now_ms - int(days) * DAY_MS)
        total["diagnostics"] = total.get("diagnostics", 0) + gone
        if maps is not None:
            gone = expire_maps(store, maps, app.id, events_before)
            total["sourcemaps"] = total.get("sourcemaps", 0) + gone
    return total


def expire_maps(store: Store, maps: MapStore, app: str, events_before: int) -> int:
    """Remove the source maps of the releases of ``app`` uploaded before the events' cutoff
    and with no error left in the store: nothing is left for them to resolve. Returns how
    many releases."""
    old = [r.release for r in maps.releases(app) if r.uploaded < events_before]
    if not old:
        return 0
    _, rows = store.select("SELECT DISTINCT release FROM errors WHERE app = ?", [app])
    live = {r[0] for r in rows}
    return sum(maps.delete(app, release) for release in old if release not in live)


def targets(store: Store, app: str, session_id: str | None, user_tag: str | None) -> list[str]:
    """The sessions an erasure or export is about. Raises ValueError without one of them."""
    if bool(session_id) == bool(user_tag):
        raise ValueError("name exactly one of a session id or a user tag")
    if session_id:
        return [session_id]
    assert user_tag is not None
    return store.sessions_of(app, user_tag)


def erase(
    store: Store, app: str, session_id: str | None, user_tag: str | None, actor: str
) -> dict[str, int]:
    """Delete everything stored for a session or a user tag, and audit it."""
    sessions = targets(store, app, session_id, user_tag)
    counts = store.erase(app, sessions)
    store.audit(
        actor,
        "erase",
        app,
        {"session_id": session_id, "user_tag": user_tag, "sessions": len(sessions), "rows": counts},
    )
    return counts


def export(
    store: Store, app: str, session_id: str | None, user_tag: str | None, actor: str
) -> dict[str, Any]:
    """Everything stored for a session or a user tag, and audit the access."""
    sessions = targets(store, app, session_id, user_tag)
    data = store.export(app, sessions)
    store.audit(
        actor,
        "export",
        app,
        {"session_id": session_id, "user_tag": user_tag, "sessions": len(sessions)},
    )
    return {"app": app, "sessions": sessions, "data": data}
