"""The batch step: spooled beacons → enriched, scored rows for the store, a whole batch at a time.

The work is split by what it costs. Parsing, flattening, arithmetic and scoring run as SQL in an
in-memory DuckDB (vectorised C++, outside the GIL, so the collector keeps answering while a batch
runs). The rules that need Python — user agents, locating (already masked) addresses, URLs,
error fingerprints — run once per *distinct* value of a batch, not once per event, and join back.

The steps, in order, each named in the SQL it emits:
``load`` (parse bodies, one row per event, client clock skew corrected), ``drop_times``
(events too old or in the future), ``detect_app`` (beacons without an application id),
``enrich_ua`` (with Client Hints), ``drop_bots`` (per the app's setting), ``mask_ip`` and
``locate``, ``normalise_urls`` (Uptrends rules, page groups, page cap), ``mask_personal``,
``fingerprint``, then ``actions`` (timings, vitals, ranges, Apdex per app and action type),
``errors``, ``user_events`` and ``sessions``. Every value cleared, string cut or event dropped is
counted by reason (``Context.drops``, exposed in /metrics). Time arrives as the beacons' receive
stamps; per-application rules as ``App.config`` (``enrich/rules.py``). See docs/enrichment.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import msgspec
import pyarrow as pa

from openrum.collect.spool import Raw
from openrum.enrich import geo, ua, urls
from openrum.enrich.ip import mask_ip
from openrum.enrich.personal import mask_personal
from openrum.enrich.rules import AppRules, Detector, rules_for
from openrum.rows import ActionRow, Batch, Dims, ErrorRow, SessionTouch, UserEventRow
from openrum.scoring import apdex
from openrum.settings import Settings
from openrum.store.base import App, Store

log = logging.getLogger("openrum.pipeline")

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
        "env": {
            "conn": S,
            "release": S,
            "uach": {
                "brands": [S],
                "mobile": "BOOLEAN",
                "platform": S,
                "platform_version": S,
                "model": S,
            },
        },
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
    keys: dict[str, tuple[Sequence[Any], pa.DataType]],
    rows: Sequence[dict[str, Any]],
    schema: list[tuple[str, pa.DataType]],
) -> None:
    """Register ``name``: one row per distinct key (columns ``keys``) with the ``rows`` values."""
    columns = {k: pa.array(values, typ) for k, (values, typ) in keys.items()}
    for col, typ in schema:
        columns[col] = pa.array([r[col] for r in rows], typ)
    con.register(name, pa.table(columns))


_STR = pa.string()
_F64 = pa.float64()
_AGENT_COLS = [
    (c, _STR) for c in ("browser", "browser_version", "os", "os_version", "device", "user_type")
]
_PLACE_COLS = [("country", _STR), ("region", _STR), ("city", _STR), ("lat", _F64), ("lon", _F64)]
DIMS: tuple[str, ...] = Dims.__struct_fields__


def _key_sql(kind_id: str) -> str:
    # The 64-bit key of (app, session, page view, event id): the first 8 bytes of an MD5, the
    # same on every engine and DuckDB version.
    return (
        "('0x' || left(md5(concat_ws(chr(31), app, sid, page_view, " + kind_id + ")), 16))::UBIGINT"
    )


def stored_pages(store: Store) -> list[tuple[str, str]]:
    """The (app, page) pairs already stored. Raises StoreError."""
    _, rows = store.select("SELECT DISTINCT app, page FROM actions", [])
    return [(str(a), str(p)) for a, p in rows]


class Pipeline:
    """One in-memory DuckDB that runs the batch step; owned by one thread.

    Holds what the steps keep between batches: the applications' rules (``set_apps``), the user
    agent cache, the geo database and the pages seen per application (``seed_pages``).
    """

    def __init__(
        self,
        settings: Settings,
        apps: Sequence[App] = (),
        locator: geo.Locator | None = None,
    ) -> None:
        self.settings = settings
        # Batches are small: a modest memory limit keeps the process small (it spills if needed).
        self.con = duckdb.connect(":memory:", config={"memory_limit": "128MB"})
        self.agents = ua.Parser(settings.ua_cache_size)
        self.locator = locator or geo.open_locator(settings.geoip_path, settings.geo_networks)
        self.pages = urls.PageCap(settings.max_pages)
        self.detector = Detector(settings.app_detection_rules, settings.default_app)
        self.defaults = rules_for({}, settings)
        self._rules: dict[str, AppRules] = {}
        self.set_apps(apps)

    def close(self) -> None:
        self.con.close()
        self.locator.close()

    def reset(self) -> None:
        """A fresh engine after a failed batch; rules, caches and seen pages are kept."""
        self.con.close()
        self.con = duckdb.connect(":memory:", config={"memory_limit": "128MB"})

    def load_pages(self, store: Store) -> None:
        """Seed the page cap with the pages already stored (once, at start). Raises StoreError."""
        self.seed_pages(stored_pages(store))

    def set_apps(self, apps: Sequence[App]) -> None:
        """Use these applications' rules from the next batch on (an invalid config is logged and
        the defaults apply)."""
        rules = {}
        for app in apps:
            try:
                rules[app.id] = rules_for(app.config, self.settings)
            except (ValueError, TypeError, KeyError, AttributeError) as e:
                log.error("application %s: invalid config (%s); using the defaults", app.id, e)
                rules[app.id] = self.defaults
        self._rules = rules

    def rules(self, app: str) -> AppRules:
        """The rules of ``app`` (the settings' defaults for an application not configured)."""
        return self._rules.get(app, self.defaults)

    def seed_pages(self, pages: Sequence[tuple[str, str]]) -> None:
        """(app, page) pairs already stored: they count towards, and pass, the page cap."""
        by_app: dict[str, list[str]] = {}
        for app, page in pages:
            by_app.setdefault(app, []).append(page)
        for app, known in by_app.items():
            self.pages.seed(app, known)

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
                    "origin": pa.array([r.origin for r in raws], _STR),
                }
            ),
        )
        # drop_times: an event's time = its client time + (receive time - client send time);
        # events too old or in the future are dropped (counted: received minus kept).
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE ev AS
            WITH b AS (SELECT row_number() OVER () AS bid, r, ip_i, ua_i, origin,
                              json_transform(body, '{BEACON_SHAPE}') AS j FROM raw),
                 flat AS (
                SELECT bid, r, ip_i, ua_i, origin, coalesce(j.app, '') AS app, j.sid AS sid,
                       j.page AS page_view,
                       coalesce(j.seq, 0) AS seq, coalesce(j.agent, '') AS agent,
                       coalesce(j.weight, 1.0) AS weight, j.visitor AS visitor,
                       j.env.conn AS connection, j.env.release AS release, j.env.uach AS uach,
                       coalesce(to_json(j.env.uach)::VARCHAR, '') AS uach_k,
                       j.url AS beacon_url, r - j.sent AS skew, unnest(j.events) AS e
                FROM b)
            SELECT * EXCLUDE (skew), coalesce(e.start, e.time) + skew AS t,
                   coalesce(nullif(e.url, ''), beacon_url, '') AS raw_url
            FROM flat
            WHERE coalesce(e.start, e.time) + skew
                  BETWEEN r - {int(s.max_event_age_ms)} AND r + {int(s.max_future_ms)}
            """).fetchall()
        con.unregister("raw")
        [(kept,)] = con.execute("SELECT count(*) FROM ev").fetchall()
        if kept < sum(r.events for r in raws):
            ctx.drops["timestamp_out_of_range"] += sum(r.events for r in raws) - kept
        self._detect_apps(ctx)
        registered: list[str] = []
        try:
            registered = self._enrich(ips, agents)
            # The events with their enrichment: a view, joined anew by each step (small hash
            # joins). Bots and synthetic monitors are dropped here when their app says so.
            con.execute("""
                CREATE OR REPLACE TEMP TABLE evall AS
                SELECT ev.* EXCLUDE (uach, uach_k, beacon_url), u.url, u.page, u.cut AS url_cut,
                       a.* EXCLUDE (ua_i, uach_k), p.* EXCLUDE (ip_i, p_app),
                       (a.user_type = 'bot' AND ar.drop_bots) AS drop_bot,
                       (a.user_type = 'synthetic' AND ar.drop_synthetic) AS drop_synthetic
                FROM ev JOIN urls u ON u.u_app = ev.app AND u.raw_url = ev.raw_url
                        JOIN agents a ON a.ua_i = ev.ua_i AND a.uach_k = ev.uach_k
                        JOIN places p ON p.ip_i = ev.ip_i AND p.p_app = ev.app
                        JOIN app_rules ar ON ar.r_app = ev.app;
                CREATE OR REPLACE TEMP VIEW evx AS
                SELECT * EXCLUDE (drop_bot, drop_synthetic) FROM evall
                WHERE NOT drop_bot AND NOT drop_synthetic""").fetchall()
            [(bots, synthetic)] = con.execute(
                "SELECT count(*) FILTER (WHERE drop_bot), count(*) FILTER (WHERE drop_synthetic) "
                "FROM evall"
            ).fetchall()
            if bots:
                ctx.drops["bot"] += int(bots)
            if synthetic:
                ctx.drops["synthetic"] += int(synthetic)
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
            con.execute(
                "DROP TABLE IF EXISTS acts; DROP VIEW IF EXISTS evx; DROP TABLE IF EXISTS evall"
            ).fetchall()
            for name in registered:
                con.unregister(name)
        ctx.drops["truncated_string"] += cut_urls
        return batch

    # -- detect_app, enrich_ua, mask_ip + locate, normalise_urls, names -----------------------
    def _detect_apps(self, ctx: Context) -> None:
        """Beacons without an application id: assigned by the detection rules, else dropped."""
        con = self.con
        rows = con.execute(
            "SELECT DISTINCT coalesce(beacon_url, raw_url), origin FROM ev WHERE app = ''"
        ).fetchall()
        if not rows:
            return
        found = [self.detector.detect(url or "", origin) for url, origin in rows]
        con.register(
            "detected",
            pa.table(
                {
                    "d_url": pa.array([r[0] for r in rows], _STR),
                    "d_origin": pa.array([r[1] for r in rows], _STR),
                    "d_app": pa.array(found, _STR),
                }
            ),
        )
        con.execute("""
            UPDATE ev SET app = d_app FROM detected
            WHERE ev.app = '' AND d_url IS NOT DISTINCT FROM coalesce(ev.beacon_url, ev.raw_url)
                  AND d_origin IS NOT DISTINCT FROM ev.origin""").fetchall()
        con.unregister("detected")
        [(unknown,)] = con.execute("DELETE FROM ev WHERE app = ''").fetchall()
        if unknown:
            ctx.drops["unknown_app"] += int(unknown)

    def _enrich(self, ips: list[str], agents: list[str]) -> list[str]:
        """Register the per-distinct-value lookups; return their names."""
        con = self.con
        apps = [r[0] for r in con.execute("SELECT DISTINCT app FROM ev ORDER BY 1").fetchall()]
        rules = {a: self.rules(a) for a in apps}
        # Per-application switches and Apdex thresholds, as small tables to join.
        con.register(
            "app_rules",
            pa.table(
                {
                    "r_app": pa.array(apps, _STR),
                    "drop_bots": pa.array([rules[a].drop_bots for a in apps], pa.bool_()),
                    "drop_synthetic": pa.array([rules[a].drop_synthetic for a in apps], pa.bool_()),
                    "r_err": pa.array([rules[a].apdex_error_frustrates for a in apps], pa.bool_()),
                }
            ),
        )
        types = [(a, k, th) for a in apps for k, th in rules[a].apdex.items()]
        keys = [(a, n, th) for a in apps for n, th in rules[a].key_actions.items()]
        for name, prefix, items in (("apdex_rules", "r", types), ("key_rules", "k", keys)):
            con.register(
                name,
                pa.table(
                    {
                        f"{prefix}_app": pa.array([i[0] for i in items], _STR),
                        f"{prefix}_key": pa.array([i[1] for i in items], _STR),
                        f"{prefix}_t": pa.array([i[2].t for i in items], _F64),
                        f"{prefix}_f": pa.array([i[2].f for i in items], _F64),
                        f"{prefix}_metric": pa.array([i[2].metric for i in items], _STR),
                    }
                ),
            )
        # enrich_ua: once per distinct user agent and Client Hints.
        pairs = con.execute(
            "SELECT ua_i, uach_k, any_value(uach) FROM ev GROUP BY ua_i, uach_k"
        ).fetchall()
        agent_rows = []
        for ua_i, _, h in pairs:
            hints = (
                ua.hints_of(
                    h.get("brands"),
                    h.get("mobile"),
                    h.get("platform"),
                    h.get("platform_version"),
                    h.get("model"),
                )
                if h
                else None
            )
            agent_rows.append(msgspec.structs.asdict(self.agents.parse(agents[ua_i], hints)))
        _lookup(
            con,
            "agents",
            {
                "ua_i": ([p[0] for p in pairs], pa.int32()),
                "uach_k": ([p[1] for p in pairs], _STR),
            },
            agent_rows,
            _AGENT_COLS,
        )
        # mask_ip + locate: once per distinct (address, app): masking first, at the app's level.
        places = con.execute("SELECT DISTINCT ip_i, app FROM ev").fetchall()
        place_rows = [
            msgspec.structs.asdict(self.locator.locate(mask_ip(ips[i], rules[a].ip_mask_level)))
            for i, a in places
        ]
        _lookup(
            con,
            "places",
            {
                "ip_i": ([p[0] for p in places], pa.int32()),
                "p_app": ([p[1] for p in places], _STR),
            },
            place_rows,
            _PLACE_COLS,
        )
        # normalise_urls + mask_personal: once per distinct (app, URL), in a stable order so the
        # page cap admits the same pages whatever the batch boundaries.
        raw_urls = con.execute("SELECT DISTINCT app, raw_url FROM ev ORDER BY ALL").fetchall()
        url_rows = [self._url(rules[a], a, u) for a, u in raw_urls]
        _lookup(
            con,
            "urls",
            {
                "u_app": ([u[0] for u in raw_urls], _STR),
                "raw_url": ([u[1] for u in raw_urls], _STR),
            },
            url_rows,
            [("url", _STR), ("page", _STR), ("cut", pa.bool_())],
        )
        # Action names and error messages the agent sent: personal data masked.
        texts = con.execute("""
            SELECT DISTINCT app, e.name FROM ev WHERE e.kind = 'action' AND e.name <> ''
            UNION SELECT DISTINCT app, e.message FROM ev WHERE e.kind = 'error'""").fetchall()
        _lookup(
            con,
            "texts",
            {"t_app": ([t[0] for t in texts], _STR), "t_raw": ([t[1] for t in texts], _STR)},
            [
                {"t_masked": mask_personal(t[1]) if rules[t[0]].mask_personal else t[1]}
                for t in texts
            ],
            [("t_masked", _STR)],
        )
        return ["app_rules", "apdex_rules", "key_rules", "agents", "places", "urls", "texts"]

    def _url(self, rules: AppRules, app: str, raw: str) -> dict[str, Any]:
        s = self.settings
        stripped = urls.strip_url(raw, rules.keep_query, rules.keep_fragment)
        page = rules.page_groups.apply(urls.page_of(stripped, rules.keep_fragment))
        if rules.mask_personal:
            stripped = mask_personal(stripped)
            page = mask_personal(page)
        page = self.pages.admit(app, page[: s.max_url_length], rules.max_pages)
        return {
            "url": stripped[: s.max_url_length],
            "page": page,
            "cut": len(stripped) > s.max_url_length,
        }

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
                   coalesce(nullif(tn.t_masked, ''), (CASE e.type {verb} END) || ' ' || page)
                       AS full_name, r_err,
                   e.vitals.lcp.target AS lcp_t, e.vitals.inp.target AS inp_t,
                   e.vitals.cls.target AS cls_t,
                   greatest(coalesce(e.long_tasks, 0), 0) AS long_tasks,
                   greatest(coalesce(e.requests, 0), 0) AS requests
            FROM evx LEFT JOIN errs ON errs.bid = evx.bid AND errs.aid = e.id
                     LEFT JOIN texts tn ON tn.t_app = evx.app AND tn.t_raw = e.name
                     JOIN app_rules ON r_app = evx.app
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
        capped = f"least(duration, {float(s.max_action_duration_ms)})"
        frontend = (
            "CASE WHEN request IS NOT NULL AND network IS NOT NULL "
            f"THEN greatest({capped} - request - network, 0) END"
        )
        key_columns = {
            m: m for m in apdex.KEY_METRICS if m not in ("duration", "server_time", "frontend_time")
        }
        key_columns.update(duration=capped, server_time="request", frontend_time=frontend)
        # score_apdex: the key action's thresholds, else the app's for the action type.
        apdex_class = apdex.class_sql(
            apdex.metric_sql("coalesce(k_metric, r_metric)", key_columns),
            "coalesce(k_t, r_t)",
            "coalesce(k_f, r_f)",
            "n_errors > 0",
            "r_err",
        )
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
            "frontend_time": frontend,
            "long_tasks": "long_tasks",
            "long_task_ms": "coalesce(long_task_ms, 0)",
            "requests": "requests",
            "errors": "n_errors",
            "apdex": apdex_class,
            "weight": "weight",
            "agent_version": "agent",
            **{d: d for d in DIMS},
        }
        # A beacon sent twice in one batch: its latest report of an action wins.
        source = """acts JOIN apdex_rules ON r_app = acts.app AND r_key = acts.action_type
                    LEFT JOIN key_rules ON k_app = acts.app AND k_key = acts.full_name"""
        return self._select(ActionRow, cols, source, "TRUE", "seq DESC")

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
        # fingerprint: on the message with personal data masked (groups better, stores less).
        rows = con.execute("""SELECT DISTINCT e.type, e.message, e.stack, e.source,
                                     coalesce(t_masked, e.message)
                              FROM evx LEFT JOIN texts ON t_app = app AND t_raw = e.message
                              WHERE e.kind = 'error'""").fetchall()
        con.register(
            "fingerprints",
            pa.table(
                {
                    "type": pa.array([r[0] for r in rows], _STR),
                    "message": pa.array([r[1] for r in rows], _STR),
                    "stack": pa.array([r[2] for r in rows], _STR),
                    "source": pa.array([r[3] for r in rows], _STR),
                    "msg": pa.array([r[4] for r in rows], _STR),
                    "src": pa.array(
                        [mask_personal(urls.strip_url(r[3])) if r[3] else r[3] for r in rows],
                        _STR,
                    ),
                    "fp": pa.array([fingerprint(r[0], r[4], r[2], r[3]) for r in rows], _STR),
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
            "message": f"left(coalesce(f.msg, ''), {s.max_message_length})",
            "fingerprint": "f.fp",
            "stack": f"left(e.stack, {s.max_stack_length})",
            "source": f"left(f.src, {s.max_url_length})",
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
