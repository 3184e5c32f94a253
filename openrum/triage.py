"""Error triage (docs/errors.md "Triage"): the status of an error group, like Sentry's.

A person sets a group's status: **unresolved**, **resolved** (optionally in a release) or
**ignored** (for a time, or until N more events or N more sessions). Two statuses follow from the
errors stored after that, and are read, not stored, so they are right the moment the error is:

- a resolved group seen again after it was resolved — in a later release than the one it was
  resolved in, when one was named — is **regressed** (from its first such error);
- an ignored group whose condition has ended (the time has come, N more events or sessions were
  seen) is **unresolved** again.

Releases are ordered by when each was first seen (the order of deployment, as on the Releases
page); a release not seen yet when a group is resolved in it is placed at that moment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from openrum.store.base import ErrorStatus, Store

STATUSES = ("unresolved", "resolved", "ignored")  # what a person sets
SHOWN = ("unresolved", "resolved", "ignored", "regressed")  # what a group shows
# Errors and affected sessions are estimates of the full traffic (as on the Errors page).
_SESSIONS = "count(DISTINCT session_id) * (sum(weight) / greatest(count(*), 1))"


class TriageError(ValueError):
    """A status change that does not make sense (its message says why)."""


@dataclass(frozen=True, slots=True)
class Since:
    """What a group did after its status was set: events and affected sessions, and the time
    of its first error that regresses it (resolved groups only)."""

    events: float = 0.0
    sessions: float = 0.0
    regressed_at: dt.datetime | None = None


def change(
    app: str,
    fingerprint: str,
    status: str,
    actor: str,
    now_ms: int,
    release: str | None = None,
    until: int | None = None,
    events: int | None = None,
    sessions: int | None = None,
) -> ErrorStatus:
    """A new status for a group. Raises TriageError for an unknown status, a release on
    anything but resolved, an ignore condition on anything but ignored, a time already past or
    a count below 1."""
    if status not in STATUSES:
        raise TriageError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    if release is not None and (status != "resolved" or not release.strip()):
        raise TriageError("a release goes with resolved, and is not empty")
    if status != "ignored" and (until, events, sessions) != (None, None, None):
        raise TriageError("until, events and sessions go with ignored")
    if until is not None and until <= now_ms:
        raise TriageError("until must be in the future")
    for name, n in (("events", events), ("sessions", sessions)):
        if n is not None and not 1 <= n <= 10**12:
            raise TriageError(f"{name} must be 1 or more")
    return ErrorStatus(app, fingerprint, status, now_ms, actor, release, until, events, sessions)


def shown(stored: ErrorStatus | None, since: Since, now_ms: int) -> dict[str, Any]:
    """What a group shows: ``status`` (one of SHOWN) and the stored status's details
    (``status_changed``, ``status_by``, ``resolved_in``, ``ignored_until``, ``ignored_events``,
    ``ignored_sessions``, ``regressed_at``), epoch ms."""
    out: dict[str, Any] = {"status": "unresolved"}
    if stored is None:
        return out
    out.update(status=stored.status, status_changed=stored.changed, status_by=stored.actor)
    if stored.status == "resolved":
        out["resolved_in"] = stored.release
        if since.regressed_at is not None:
            at = since.regressed_at.replace(tzinfo=dt.UTC)
            out.update(status="regressed", regressed_at=int(at.timestamp() * 1000))
    elif stored.status == "ignored":
        out.update(ignored_until=stored.until, ignored_events=stored.events,
                   ignored_sessions=stored.sessions)  # fmt: skip
        lapsed = (
            (stored.until is not None and now_ms >= stored.until)
            or (stored.events is not None and since.events >= stored.events)
            or (stored.sessions is not None and since.sessions >= stored.sessions)
        )
        if lapsed:
            out["status"] = "unresolved"
    return out


def _naive(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).replace(tzinfo=None)


def _after(statuses: list[ErrorStatus]) -> tuple[str, list[Any]]:
    """A condition on errors: of these groups, each after its status was set."""
    marks = ", ".join("?" * len(statuses))
    cases = " ".join("WHEN ? THEN ?" for _ in statuses)
    params: list[Any] = [s.fingerprint for s in statuses]
    for s in statuses:
        params += [s.fingerprint, _naive(s.changed)]
    return f"fingerprint IN ({marks}) AND time > CASE fingerprint {cases} END", params


def activity(store: Store, app: str, statuses: Iterable[ErrorStatus]) -> dict[str, Since]:
    """What each resolved or ignored group did after its status was set (three queries
    whatever the number of groups)."""
    watched = [s for s in statuses if s.status in ("resolved", "ignored")]
    if not watched:
        return {}
    cond, params = _after(watched)
    _, counted = store.select(
        f"SELECT fingerprint, sum(count * weight), {_SESSIONS} FROM errors "
        f"WHERE app = ? AND {cond} GROUP BY fingerprint",
        [app, *params],
    )
    out = {fp: Since(float(n), float(s)) for fp, n, s in counted}
    resolved = {s.fingerprint: s for s in watched if s.status == "resolved"}
    if not resolved:
        return out
    cond, params = _after(list(resolved.values()))
    _, seen = store.select(
        f"SELECT fingerprint, release, min(time) FROM errors WHERE app = ? AND {cond} "
        "GROUP BY fingerprint, release",
        [app, *params],
    )
    named = {r for r in (*(s.release for s in resolved.values()), *(r[1] for r in seen)) if r}
    first = release_first_seen(store, app, sorted(named))
    regressed: dict[str, dt.datetime] = {}
    for fp, release, at in seen:
        s = resolved[fp]
        if s.release is not None:
            # Only a later release regresses it: not the one it was resolved in, nor older ones.
            resolved_at = first.get(s.release) or _naive(s.changed)
            if release is None or release == s.release or first[release] <= resolved_at:
                continue
        if fp not in regressed or at < regressed[fp]:
            regressed[fp] = at
    for fp, at in regressed.items():
        base = out.get(fp, Since())
        out[fp] = Since(base.events, base.sessions, at)
    return out


def release_first_seen(store: Store, app: str, releases: list[str]) -> dict[str, dt.datetime]:
    """When each release was first seen (its first action or error)."""
    if not releases:
        return {}
    marks = ", ".join("?" * len(releases))
    _, rows = store.select(
        "SELECT release, min(t) FROM ("
        f"SELECT release, min(time) AS t FROM actions WHERE app = ? AND release IN ({marks}) "
        "GROUP BY release UNION ALL "
        f"SELECT release, min(time) AS t FROM errors WHERE app = ? AND release IN ({marks}) "
        "GROUP BY release) GROUP BY release",
        [app, *releases, app, *releases],
    )
    return {r: t for r, t in rows}


def statuses(store: Store, app: str, now_ms: int) -> dict[str, dict[str, Any]]:
    """What every group of the application with a stored status shows (see ``shown``), by
    fingerprint; a group without one is unresolved."""
    stored = store.error_statuses(app)
    since = activity(store, app, stored)
    return {s.fingerprint: shown(s, since.get(s.fingerprint, Since()), now_ms) for s in stored}
