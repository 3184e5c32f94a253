"""Sessions (Dynatrace web rules, ../RUM.md "Sessions"): live while they last, completed once.

Every batch upserts what it knows of each session (start = min, last seen = max, entry and exit
page, user tag, explicit end: ``SessionTouch``). The closer completes a session when

* the agent sent an explicit end (``end``),
* it reached ``session_max_actions`` actions (``max_actions``: the agent starts a new session,
  the next part),
* it has lasted ``session_max_ms`` (``max_duration``, 6 h), or
* no beacon came for ``session_inactivity_ms`` (``inactivity``, 30 min).

Completing computes, from stored events only: duration = end of the last action − start of the
first (idle time after it is not counted), action, error and rage-click counts, bounce (one action
or fewer) and the user experience score (``scoring/ux.py``). A session counts its first
``session_max_actions`` actions within its first ``session_max_ms``.

Idempotent by construction: the values are a function of stored events, and the store writes them
only to sessions not closed yet — so the closer can run twice, or in several collector processes
at once, and a closed session never changes: events that arrive for it later stay at event level.
Live sessions have no duration and no score.
"""

from __future__ import annotations

import importlib.resources
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec
import pyarrow as pa

from openrum.enrich.rules import rules_for
from openrum.rows import ClosedSession
from openrum.scoring import ux
from openrum.settings import Settings
from openrum.store.base import App, Store

log = logging.getLogger("openrum.sessions")

END, INACTIVITY, MAX_DURATION, MAX_ACTIONS = "end", "inactivity", "max_duration", "max_actions"
_PARAM = re.compile(r"\$([a-z_]+)")


def due_sql(engine: str) -> str:
    """The closer's query for ``engine`` (``openrum/sql/due_sessions.ENGINE.sql``), comments
    removed."""
    text = (importlib.resources.files("openrum") / "sql" / f"due_sessions.{engine}.sql").read_text()
    return "\n".join(line.split("--", 1)[0] for line in text.splitlines())


def bind(sql: str, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """``$name`` parameters → positional ``?`` and their values in order. Raises KeyError for
    a name without a value."""
    params: list[Any] = []

    def take(m: re.Match[str]) -> str:
        params.append(values[m.group(1)])
        return "?"

    return _PARAM.sub(take, sql), params


def complete(row: Mapping[str, Any], options: ux.Options) -> ClosedSession:
    """The completed session from one row of the closer's query (pure)."""
    actions = int(row["actions"])
    score = ux.score(
        satisfied=int(row["s"]),
        tolerating=int(row["t"]),
        frustrated=int(row["f"]),
        errors=int(row["errors"]),
        rage_clicks=int(row["rage_clicks"]),
        crashes=int(row["crashes"]),
        last_action=row["last_class"],
        options=options,
    )
    duration = row["duration"]
    return ClosedSession(
        app=row["app"],
        session_id=row["session_id"],
        end_reason=row["end_reason"],
        duration=float(duration) if duration is not None else None,
        actions=actions,
        errors=int(row["errors"]),
        rage_clicks=int(row["rage_clicks"]),
        bounce=actions <= 1,
        ux_score=score,
    )


_SCHEMA = pa.schema(
    [
        ("app", pa.string()),
        ("session_id", pa.string()),
        ("end_reason", pa.string()),
        ("duration", pa.float64()),
        ("actions", pa.int64()),
        ("errors", pa.int64()),
        ("rage_clicks", pa.int64()),
        ("bounce", pa.bool_()),
        ("ux_score", pa.string()),
    ]
)


def close_sessions(
    store: Store,
    settings: Settings,
    now_ms: int,
    apps: Sequence[App] = (),
    limit: int = 50_000,
) -> int:
    """Complete every session due at ``now_ms`` (at most ``limit`` per call); return how many
    were closed. Raises StoreError."""
    options: dict[str, ux.Options] = {}
    for app in apps:
        try:
            options[app.id] = rules_for(app.config, settings).ux
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            log.error("application %s: invalid config (%s); default UX score options", app.id, e)
    default = rules_for({}, settings).ux
    sql, params = bind(
        due_sql(store.engine),
        {
            "now": now_ms,
            "inactivity_ms": settings.session_inactivity_ms,
            "max_ms": settings.session_max_ms,
            "max_actions": settings.session_max_actions,
            "limit": limit,
        },
    )
    columns, rows = store.select(sql, params)
    if not rows:
        return 0
    closed = [
        complete(dict(zip(columns, r, strict=True)), options.get(r[0], default)) for r in rows
    ]
    table = pa.Table.from_pylist([msgspec.structs.asdict(c) for c in closed], schema=_SCHEMA)
    return store.close_sessions(table)


class Closer:
    """Runs ``close_sessions`` every ``session_close_interval_s`` from the writer thread."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock  # seconds, like time.time
        self.next_run = 0.0
        self.closed = 0

    def tick(self, apps: Sequence[App]) -> int:
        """Close due sessions if the interval has passed; return how many were closed."""
        now = self.clock()
        if now < self.next_run:
            return 0
        self.next_run = now + self.settings.session_close_interval_s
        n = close_sessions(self.store, self.settings, int(now * 1000), apps)
        self.closed += n
        return n
