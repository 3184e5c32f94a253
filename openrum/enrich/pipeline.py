"""The batch step: spooled beacons → enriched, scored rows for the store, a whole batch at a time.

The work is split by what it costs. Parsing, flattening, arithmetic and scoring run as SQL in an
in-memory DuckDB (vectorised C++, outside the GIL, so the collector keeps answering while a batch
runs). The rules that need Python — user agents, locating (already masked) addresses, URLs,
error fingerprints — run once per *distinct* value of a batch, not once per event, and join back.

The steps, in order, each named in the SQL it emits:
``load`` (parse bodies, one row per event, client clock skew corrected), ``drop_times``
(events too old or in the future), ``enrich_ua``, ``locate``, ``normalise_urls``,
``fingerprint``, then ``actions`` (timings, vitals, ranges, Apdex), ``errors``, ``user_events``
and ``sessions``. Every value cleared, string cut or event dropped is counted by reason
(``Context.drops``, exposed in /metrics). Time arrives as the beacons' receive stamps.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import msgspec
import pyarrow as pa

from openrum.collect.spool import Raw
from openrum.enrich import ua, urls
from openrum.rows import ActionRow, Batch, Dims, ErrorRow, SessionTouch, UserEventRow
from openrum.settings import Settings

D, S, INT = "DOUBLE", "VARCHAR", "BIGINT"
NT_FIELDS = (
    "fetchStart",
    "domainLookupStart",
    "domainLookupEnd",
    "connectStart",
    "secureConnectionStart",
    "connectEnd",
    "requestStart",
    "responseStart",
    "responseEnd",
    "domInteractive",
    "domContentLoadedEventEnd",
    "domComplete",
    "loadEventStart",
    "loadEventEnd",
    "redirectStart",
    "redirectEnd",
)
VITALS = ("lcp", "cls", "inp", "fcp", "ttfb", "fid")
_VITAL = {
    "id": S,
    "value": D,
    "target": S,
    "phase": {"input_delay": D, "processing": D, "presentation": D},
}
_EVENT = {
    "kind": S,
    "id": S,
    "type": S,
    "start": INT,
    "time": INT,
    "url": S,
    "name": S,
    "duration": D,
    "nt": dict.fromkeys(NT_FIELDS, D),
    "vitals": dict.fromkeys(VITALS, _VITAL),
    "long_tasks": INT,
    "long_task_ms": D,
    "requests": INT,
    "message": S,
    "stack": S,
    "source": S,
    "line": INT,
    "col": INT,
    "status": INT,
    "count": INT,
    "action": S,
    "value": S,
    "x": D,
    "y": D,
}
# The beacon's shape for DuckDB's json_transform (docs/protocol.md; validated by the collector).
BEACON_SHAPE = json.dumps(
    {
        "app": S,
        "sid": S,
        "page": S,
        "sent": INT,
        "url": S,
        "seq": INT,
        "agent": S,
        "weight": D,
        "visitor": S,
        "env": {"conn": S, "release": S},
        "events": [_EVENT],
    }
)
_VERB = {
    "load": "loading of page",
    "xhr": "action on page",
    "route_change": "route to",
    "custom": "custom action on page",
}
_DIGITS = re.compile(r"\d+")


@dataclass
class Context:
    """What the steps read: settings, and the drop counter they fill."""

    settings: Settings
    drops: Counter[str] = field(default_factory=Counter)


def fingerprint(kind: str, message: str, stack: str | None, source: str | None) -> str:
    """Group key of an error: its type, normalised message and top stack frame."""
    normal = urls.PLACEHOLDER.join(_DIGITS.split(message or ""))[:200]
    top = ""
    if stack:
        for line in stack.splitlines():
            if ":" in line and ("at " in line or "@" in line):
                top = line.strip()[:200]
                break
    elif source:
        top = urls.page_of(source)
    return hashlib.blake2b(f"{kind}\x1f{normal}\x1f{top}".encode(), digest_size=8).hexdigest()


def _lookup(
    con: duckdb.DuckDBPyConnection,
    name: str,
    keys: Sequence[Any],
    fn: Callable[[Any], dict[str, Any]],
    key_type: pa.DataType,
    schema: list[tuple[str, pa.DataType]],
) -> None:
    """Register ``name``: one row per distinct key with the columns ``fn(key)`` returns."""
    rows = [fn(k) for k in keys]
    columns = {"k": pa.array(keys, key_type)}
    for col, typ in schema:
        columns[col] = pa.array([r[col] for r in rows], typ)
    con.register(name, pa.table(columns))


def _agent(ua_string: str) -> dict[str, Any]:
    return msgspec.structs.asdict(ua.parse(ua_string))


def _place(ip: str) -> dict[str, Any]:
    # Location arrives with the geo database (enrich/geo); until then no location is known.
    return {"country": None, "region": None, "city": None, "lat": None, "lon": None}


_STR = pa.string()
_AGENT_COLS = [
    (c, _STR) for c in ("browser", "browser_version", "os", "os_version", "device", "user_type")
]
_PLACE_COLS = [
    ("country", _STR),
    ("region", _STR),
    ("city", _STR),
    ("lat", pa.float64()),
    ("lon", pa.float64()),
]
DIMS: tuple[str, ...] = Dims.__struct_fields__


def _key_sql(kind_id: str) -> str:
    # The 64-bit key of (app, session, page view, event id): the first 8 bytes of an MD5, the
    # same on every engine and DuckDB version.
    return (
        "('0x' || left(md5(concat_ws(chr(31), app, sid, page_view, " + kind_id + ")), 16))::UBIGINT"
    )


class Pipeline:
    """One in-memory DuckDB that runs the batch step; owned by one thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Batches are small: a modest memory limit keeps the process small (it spills if needed).
        self.con = duckdb.connect(":memory:", config={"memory_limit": "128MB"})

    def close(self) -> None:
        self.con.close()

    def run(self, raws: Sequence[Raw], ctx: Context | None = None) -> Batch:
        """Turn spooled beacons into one batch of Arrow tables (see the module docstring)."""
        ctx = ctx or Context(self.settings)
        if not raws:
            return Batch()
        s = self.settings
        con = self.con
        ips = list(dict.fromkeys(r.ip for r in raws))
        agents = list(dict.fromkeys(r.ua for r in raws))
        ip_index = {ip: i for i, ip in enumerate(ips)}
        ua_index = {a: i for i, a in enumerate(agents)}
        # load: one row per beacon (bodies were validated by the collector), then per event.
        con.register(
            "raw",
            pa.table(
                {
                    "body": pa.array([r.body for r in raws], pa.binary()).cast(_STR),
                    "r": pa.array([r.received for r in raws], pa.int64()),
                    "ip_i": pa.array([ip_index[r.ip] for r in raws], pa.int32()),
                    "ua_i": pa.array([ua_index[r.ua] for r in raws], pa.int32()),
                }
            ),
        )
        # drop_times: an event's time = its client time + (receive time - client send time);
        # events too old or in the future are dropped (counted: received minus kept).
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE ev AS
            WITH b AS (SELECT row_number() OVER () AS bid, r, ip_i, ua_i,
                              json_transform(body, '{BEACON_SHAPE}') AS j FROM raw),
                 flat AS (
                SELECT bid, r, ip_i, ua_i, j.app AS app, j.sid AS sid, j.page AS page_view,
                       coalesce(j.seq, 0) AS seq, coalesce(j.agent, '') AS agent,
                       coalesce(j.weight, 1.0) AS weight, j.visitor AS visitor,
                       j.env.conn AS connection, j.env.release AS release,
                       j.url AS beacon_url, r - j.sent AS skew, unnest(j.events) AS e
                FROM b)
            SELECT * EXCLUDE (beacon_url, skew), coalesce(e.start, e.time) + skew AS t,
                   coalesce(nullif(e.url, ''), beacon_url, '') AS raw_url
            FROM flat
            WHERE coalesce(e.start, e.time) + skew
                  BETWEEN r - {int(s.max_event_age_ms)} AND r + {int(s.max_future_ms)}
            """).fetchall()
        con.unregister("raw")
        [(kept,)] = con.execute("SELECT count(*) FROM ev").fetchall()
        if kept < sum(r.events for r in raws):
            ctx.drops["timestamp_out_of_range"] += sum(r.events for r in raws) - kept
        # enrich_ua, locate: once per distinct user agent and client address.
        _lookup(
            con,
            "agents",
            list(range(len(agents))),
            lambda i: _agent(agents[i]),
            pa.int32(),
            _AGENT_COLS,
        )
        _lookup(
            con, "places", list(range(len(ips))), lambda i: _place(ips[i]), pa.int32(), _PLACE_COLS
        )
        # normalise_urls: once per distinct URL.
        raw_urls = [r[0] for r in con.execute("SELECT DISTINCT raw_url FROM ev").fetchall()]

        def url_row(u: str) -> dict[str, Any]:
            stripped = urls.strip_url(u)
            return {
                "url": stripped[: s.max_url_length],
                "page": urls.page_of(stripped),
                "cut": len(stripped) > s.max_url_length,
            }

        _lookup(
            con,
            "urls",
            raw_urls,
            url_row,
            _STR,
            [("url", _STR), ("page", _STR), ("cut", pa.bool_())],
        )
        # The events with their enrichment: a view, joined anew by each step (small hash joins).
        con.execute("""
            CREATE OR REPLACE TEMP VIEW evx AS
            SELECT ev.*, u.url, u.page, u.cut AS url_cut, a.* EXCLUDE (k), p.* EXCLUDE (k)
            FROM ev JOIN urls u ON u.k = ev.raw_url
                    JOIN agents a ON a.k = ev.ua_i
                    JOIN places p ON p.k = ev.ip_i""").fetchall()
        try:
            batch = Batch(
                actions=self._actions(ctx),
                errors=self._errors(ctx),
                user_events=self._user_events(ctx),
                sessions=self._sessions(),
            )
            [(cut_urls,)] = con.execute(
                "SELECT count(*) FILTER (WHERE url_cut) FROM evx"
            ).fetchall()
        finally:
            con.execute("DROP TABLE IF EXISTS acts; DROP VIEW evx").fetchall()
            for name in ("agents", "places", "urls"):
                con.unregister(name)
        ctx.drops["truncated_string"] += cut_urls
        return batch

    # -- actions ------------------------------------------------------------------------------
    def _actions(self, ctx: Context) -> pa.Table:
        s = self.settings
        lim = float(s.max_timing_ms)

        def nt(a: str) -> str:
            return f'e.nt."{a}"'

        def span(a: str, b: str) -> str:
            return f"{nt(b)} - {nt(a)}"

        measures: dict[str, tuple[str, float]] = {
            "duration": ("e.duration", lim),
            **{v: (f"e.vitals.{v}.value", float(s.max_cls) if v == "cls" else lim) for v in VITALS},
            "inp_input_delay": ("e.vitals.inp.phase.input_delay", lim),
            "inp_processing": ("e.vitals.inp.phase.processing", lim),
            "inp_presentation": ("e.vitals.inp.phase.presentation", lim),
            "redirect": (span("redirectStart", "redirectEnd"), lim),
            "dns": (span("domainLookupStart", "domainLookupEnd"), lim),
            "tcp": (span("connectStart", "connectEnd"), lim),
            "tls": (
                f"CASE WHEN {nt('secureConnectionStart')} > 0 "
                f"THEN {span('secureConnectionStart', 'connectEnd')} END",
                lim,
            ),
            "request": (span("requestStart", "responseStart"), lim),
            "response": (span("responseStart", "responseEnd"), lim),
            "dom_processing": (span("responseEnd", "domComplete"), lim),
            "dom_interactive": (nt("domInteractive"), lim),
            "dom_content_loaded": (nt("domContentLoadedEventEnd"), lim),
            "dom_complete": (nt("domComplete"), lim),
            "load_event_end": (nt("loadEventEnd"), lim),
            "network": (f"{nt('requestStart')} + {span('responseStart', 'responseEnd')}", lim),
            "long_task_ms": ("e.long_task_ms", lim),
        }
        checked = ",\n".join(
            f"CASE WHEN ({expr}) BETWEEN 0 AND {hi} THEN ({expr}) END AS {name}, "
            f"(({expr}) IS NOT NULL AND NOT (({expr}) BETWEEN 0 AND {hi}))::INT AS bad_{name}"
            for name, (expr, hi) in measures.items()
        )
        n = s.max_name_length
        verb = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in _VERB.items())
        con = self.con
        # One narrow table of the actions' values (planned once; the queries below only read it).
        dims = ", ".join(DIMS)
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE acts AS
            WITH errs AS (
                SELECT bid, e.action AS aid, sum(coalesce(e.count, 1))::BIGINT AS n FROM evx
                WHERE e.kind = 'error' AND e.action IS NOT NULL GROUP BY ALL)
            SELECT app, sid, page_view, seq, agent, weight, visitor, r, t, url, page, {dims},
                   e.id AS event_id, e.type AS action_type, coalesce(errs.n, 0) AS n_errors,
                   {checked},
                   coalesce(nullif(e.name, ''), (CASE e.type {verb} END) || ' ' || page)
                       AS full_name,
                   e.vitals.lcp.target AS lcp_t, e.vitals.inp.target AS inp_t,
                   e.vitals.cls.target AS cls_t,
                   greatest(coalesce(e.long_tasks, 0), 0) AS long_tasks,
                   greatest(coalesce(e.requests, 0), 0) AS requests
            FROM evx LEFT JOIN errs ON errs.bid = evx.bid AND errs.aid = e.id
            WHERE e.kind = 'action'""").fetchall()
        bad = " + ".join(f"sum(bad_{name})" for name in measures)
        cut = " + ".join(
            f"count(*) FILTER (WHERE length({c}) > {n})"
            for c in ("full_name", "lcp_t", "inp_t", "cls_t")
        )
        [(out_of_range, truncated)] = con.execute(
            f"SELECT coalesce({bad}, 0), {cut} FROM acts"
        ).fetchall()
        ctx.drops["value_out_of_range"] += int(out_of_range)
        ctx.drops["truncated_string"] += int(truncated)
        load_t, load_f = s.apdex_load_t_ms, s.apdex_load_f_ms
        xhr_t, xhr_f = s.apdex_xhr_t_ms, s.apdex_xhr_f_ms
        frustrates = "n_errors > 0" if s.apdex_error_frustrates else "false"
        cols = {
            "eid": _key_sql("event_id"),
            "app": "app",
            "time": "make_timestamp_ms(t)",
            "received": "make_timestamp_ms(r)",
            "session_id": "sid",
            "page_view_id": "page_view",
            "seq": "seq",
            "event_id": "event_id",
            "action_type": "action_type",
            "action_name": f"left(full_name, {n})",
            "url": "url",
            "page": "page",
            "duration": f"least(duration, {float(s.max_action_duration_ms)})",
            "lcp_target": f"left(lcp_t, {n})",
            "inp_target": f"left(inp_t, {n})",
            "cls_target": f"left(cls_t, {n})",
            # Every checked measure but the three derived below keeps its name.
            **{m: m for m in measures if m not in ("duration", "network", "long_task_ms")},
            "server_time": "request",
            "network_time": "CASE WHEN request IS NOT NULL THEN network END",
            "frontend_time": "CASE WHEN request IS NOT NULL AND network IS NOT NULL "
            f"THEN greatest(least(duration, {float(s.max_action_duration_ms)})"
            " - request - network, 0) END",
            "long_tasks": "long_tasks",
            "long_task_ms": "coalesce(long_task_ms, 0)",
            "requests": "requests",
            "errors": "n_errors",
            "apdex": f"""CASE WHEN {frustrates} THEN 'F'
                WHEN duration IS NULL THEN NULL
                WHEN least(duration, {float(s.max_action_duration_ms)}) <=
                     (CASE WHEN action_type IN ('load', 'custom') THEN {load_t} ELSE {xhr_t} END)
                     THEN 'S'
                WHEN least(duration, {float(s.max_action_duration_ms)}) <=
                     (CASE WHEN action_type IN ('load', 'custom') THEN {load_f} ELSE {xhr_f} END)
                     THEN 'T'
                ELSE 'F' END""",
            "weight": "weight",
            "agent_version": "agent",
            **{d: d for d in DIMS},
        }
        # A beacon sent twice in one batch: its latest report of an action wins.
        return self._select(ActionRow, cols, "acts", "TRUE", "seq DESC")

    def _select(
        self,
        struct: type[msgspec.Struct],
        cols: dict[str, str],
        source: str,
        where: str,
        latest: str = "received DESC",
    ) -> pa.Table:
        """Columns of ``struct`` in order; one row per event key (the ``latest`` one)."""
        assert set(cols) == set(struct.__struct_fields__), set(cols) ^ set(struct.__struct_fields__)
        select = ",\n".join(f"{cols[name]} AS {name}" for name in struct.__struct_fields__)
        return self.con.sql(
            f"SELECT {select} FROM {source} WHERE {where} "
            f"QUALIFY row_number() OVER (PARTITION BY eid ORDER BY {latest}) = 1"
        ).to_arrow_table()

    # -- errors and user events ---------------------------------------------------------------
    def _errors(self, ctx: Context) -> pa.Table:
        s = self.settings
        con = self.con
        rows = con.execute("""SELECT DISTINCT e.type, e.message, e.stack, e.source FROM evx
                              WHERE e.kind = 'error'""").fetchall()
        con.register(
            "fingerprints",
            pa.table(
                {
                    "type": pa.array([r[0] for r in rows], _STR),
                    "message": pa.array([r[1] for r in rows], _STR),
                    "stack": pa.array([r[2] for r in rows], _STR),
                    "source": pa.array([r[3] for r in rows], _STR),
                    "fp": pa.array([fingerprint(*r) for r in rows], _STR),
                }
            ),
        )
        limits = {
            "e.message": s.max_message_length,
            "e.stack": s.max_stack_length,
            "e.name": s.max_name_length,
            "e.source": s.max_url_length,
        }
        [(truncated,)] = con.execute(
            "SELECT "
            + " + ".join(f"count(*) FILTER (WHERE length({c}) > {n})" for c, n in limits.items())
            + " FROM evx WHERE e.kind = 'error'"
        ).fetchall()
        ctx.drops["truncated_string"] += int(truncated or 0)
        cols = {
            "eid": _key_sql("e.id"),
            "app": "app",
            "time": "make_timestamp_ms(t)",
            "received": "make_timestamp_ms(r)",
            "session_id": "sid",
            "page_view_id": "page_view",
            "event_id": "e.id",
            "action_event_id": "e.action",
            "error_type": "e.type",
            "error_name": f"left(e.name, {s.max_name_length})",
            "message": f"left(coalesce(e.message, ''), {s.max_message_length})",
            "fingerprint": "f.fp",
            "stack": f"left(e.stack, {s.max_stack_length})",
            "source": f"left(e.source, {s.max_url_length})",
            "line": "CASE WHEN e.line >= 0 THEN e.line END",
            "col": "CASE WHEN e.col >= 0 THEN e.col END",
            "status": "CASE WHEN e.status >= 0 THEN e.status END",
            "count": "greatest(coalesce(e.count, 1), 1)",
            "url": "url",
            "page": "page",
            "agent_version": "agent",
            **{d: d for d in DIMS},
        }
        source = """evx JOIN fingerprints f ON f.type IS NOT DISTINCT FROM e.type
                    AND f.message IS NOT DISTINCT FROM e.message
                    AND f.stack IS NOT DISTINCT FROM e.stack
                    AND f.source IS NOT DISTINCT FROM e.source"""
        table = self._select(ErrorRow, cols, source, "e.kind = 'error'")
        con.unregister("fingerprints")
        return table

    def _user_events(self, ctx: Context) -> pa.Table:
        s = self.settings
        [(truncated,)] = self.con.execute(
            f"""SELECT count(*) FILTER (WHERE length(e.value) > {s.max_name_length})
                FROM evx WHERE e.kind = 'user'"""
        ).fetchall()
        ctx.drops["truncated_string"] += int(truncated or 0)
        cols = {
            "eid": _key_sql("e.id"),
            "app": "app",
            "time": "make_timestamp_ms(t)",
            "received": "make_timestamp_ms(r)",
            "session_id": "sid",
            "page_view_id": "page_view",
            "event_id": "e.id",
            "action_event_id": "e.action",
            "event_type": "e.type",
            "value": f"left(e.value, {s.max_name_length})",
            "x": "e.x",
            "y": "e.y",
            "count": "CASE WHEN e.count >= 0 THEN e.count END",
            "url": "url",
            "page": "page",
            **{d: d for d in DIMS},
        }
        return self._select(UserEventRow, cols, "evx", "e.kind = 'user'")

    # -- sessions -----------------------------------------------------------------------------
    def _sessions(self) -> pa.Table:
        """What this batch knows of each session that had an action in it."""
        s = self.settings
        dur = f"coalesce(least(duration, {float(s.max_action_duration_ms)}), 0)::BIGINT"
        dims = ", ".join(f"arg_min({d}, a.t) AS {d}" for d in DIMS)
        table = self.con.sql(f"""
            WITH ends AS (
                SELECT app, sid,
                       arg_max(left(e.value, {s.max_name_length}), t)
                           FILTER (WHERE e.type = 'user_tag') AS user_tag,
                       bool_or(e.type = 'session_end') AS ended
                FROM evx WHERE e.kind = 'user' GROUP BY ALL)
            SELECT a.app, a.sid AS session_id, make_timestamp_ms(min(a.t)) AS start,
                   make_timestamp_ms(max(a.t + {dur})) AS last_seen,
                   make_timestamp_ms(max(a.r)) AS last_received,
                   arg_min(a.page, a.t) AS entry_page,
                   arg_max(a.page, a.t + {dur}) AS exit_page,
                   max(a.weight) AS weight, any_value(a.visitor) AS visitor_id,
                   any_value(ends.user_tag) AS user_tag,
                   coalesce(bool_or(ends.ended), false) AS ended, {dims}
            FROM acts a LEFT JOIN ends ON ends.app = a.app AND ends.sid = a.sid
            GROUP BY a.app, a.sid""").to_arrow_table()
        assert set(table.column_names) == set(SessionTouch.__struct_fields__)
        return table
