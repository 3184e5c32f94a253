"""The batch step: spooled beacons → enriched, scored rows for the store, a whole batch at a time.

The work is split by what it costs. Bodies are decoded by msgspec into the protocol's structs
(``collect/beacon.py``, C speed). Everything a whole beacon shares — application, session, user
agent, location, environment — is computed once per beacon and joined to its rows by an Arrow
``take``; the rules that need Python run once per *distinct* value (user agents, addresses, URLs
and texts sit behind caches), and per event only what differs per event: its time, key, measures
and Apdex class. Rows are built as columns and become Arrow tables without a query engine
(``bench/enrich``: a fixed per-batch query planning cost was most of the time).

The steps, in order: ``load`` (decode, one entry per event, client clock skew corrected),
``drop_times`` (events too old or in the future), ``detect_app`` (beacons without an application
id), ``enrich_ua`` (with Client Hints), ``drop_bots`` (per the app's setting), ``mask_ip`` and
``locate``, ``normalise_urls`` (Uptrends rules, page groups, page cap), ``mask_personal``,
``fingerprint``, then ``actions`` (timings, vitals, ranges, Apdex per app and action type),
``errors``, ``user_events`` and ``sessions``. Every value cleared, string cut or event dropped is
counted by reason (``Context.drops``, exposed in /metrics). Time arrives as the beacons' receive
stamps; per-application rules as ``App.config`` (``enrich/rules.py``). See docs/enrichment.md.
"""

from __future__ import annotations

import copy
import gc
import hashlib
import logging
import math
import re
import struct
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from openrum.collect import beacon as wire
from openrum.collect.spool import Raw
from openrum.enrich import geo, ua, urls
from openrum.enrich.errors import error_message, top_frame
from openrum.enrich.ip import mask_ip
from openrum.enrich.personal import mask_personal, mask_stack, mask_url
from openrum.enrich.rules import AppRules, Detector, page_url, rules_for
from openrum.enrich.symbolicate import Symbolicator, grouping_frames
from openrum.enrich.thirdparty import origin_of, party, provider
from openrum.rows import ActionRow, Batch, DiagRow, Dims, ErrorRow, SessionTouch, UserEventRow
from openrum.scoring import apdex
from openrum.settings import Settings
from openrum.sourcemaps import open_maps
from openrum.store.base import App

log = logging.getLogger("openrum.pipeline")

_decode = msgspec.json.Decoder(wire.Beacon).decode
_VERB = {
    "load": "loading of page",
    "xhr": "action on page",
    "route_change": "route to",
    "custom": "custom action on page",
}
_DIGITS = re.compile(r"\d+")
DIMS: tuple[str, ...] = Dims.__struct_fields__
# The checked measures of an action, in order: each is cleared (and counted) outside 0..its limit.
MEASURES = (
    "duration", "lcp", "cls", "inp", "fcp", "ttfb", "fid",
    "inp_input_delay", "inp_processing", "inp_presentation",
    "redirect", "dns", "tcp", "tls", "request", "response", "dom_processing",
    "dom_interactive", "dom_content_loaded", "dom_complete", "load_event_end",
    "network", "long_task_ms",
)  # fmt: skip
# An error this long after its action's end still counts to it: the agent stamps a request's
# error just after the request's end, which may be the action's end.
ERROR_SLACK_MS = 100
_NO_TIMINGS = (None,) * 12
_NO_TARGETS = (None,) * 3
_RELEASE = 12  # env.release's place in a beacon's dims (``_load``)
_NO_VITALS: dict[str, Any] = {}
# Columns every row of one beacon shares, and those of one URL: joined to the rows by index.
_BEACON_COLS = ("app", "session_id", "page_view_id", "seq", "received", "weight", "agent_version")
_URL_COLS = ("url", "page")


@dataclass
class Context:
    """What the steps read: settings, and the drop counter they fill."""

    settings: Settings
    drops: Counter[str] = field(default_factory=Counter)


def fingerprint(
    kind: str, message: str, stack: str | None, source: str | None, resolved: str | None = None
) -> str:
    """Group key of an error: its type, normalised message and top stack frame, or its
    resolved in-app frames when source maps resolved any (``symbolicate.grouping_frames``)."""
    normal = urls.PLACEHOLDER.join(_DIGITS.split(message or ""))[:200]
    top = ""
    if resolved:
        top = resolved
    elif stack:
        for line in stack.splitlines():
            if ":" in line and ("at " in line or "@" in line):
                top = line.strip()[:200]
                break
    elif source:
        top = urls.page_of(source)
    return hashlib.blake2b(f"{kind}\x1f{normal}\x1f{top}".encode(), digest_size=8).hexdigest()


def event_key(app: str, sid: str, page_view: str, event_id: str) -> int:
    """The 64-bit key of (app, session, page view, event id): a re-sent event is stored once.

    The first 8 bytes (big-endian) of the MD5 of the four joined by US (0x1f): the same on every
    engine and in every version.
    """
    return _event_key(_key_base(app, sid, page_view), event_id)


def _key_base(app: str, sid: str, page_view: str) -> Any:
    return hashlib.md5(f"{app}\x1f{sid}\x1f{page_view}\x1f".encode())


def _event_key(base: Any, event_id: str) -> int:
    h = base.copy()  # the beacon's part is hashed once
    h.update(event_id.encode())
    return int(_U64(h.digest())[0])


_U64 = struct.Struct(">Q").unpack_from


def _arrow_type(name: str, annotation: Any) -> pa.DataType:
    if name == "eid":
        return pa.uint64()
    if name in ("time", "received", "start", "last_seen", "last_received"):
        return pa.timestamp("ms")
    text = str(annotation)
    for word, typ in (("bool", pa.bool_()), ("float", pa.float64()), ("int", pa.int64())):
        if word in text:
            return typ
    return pa.string()


def _types(struct: type[msgspec.Struct]) -> dict[str, pa.DataType]:
    hints: dict[str, Any] = {}
    for klass in reversed(struct.__mro__):
        hints.update(getattr(klass, "__annotations__", {}))
    return {name: _arrow_type(name, hints[name]) for name in struct.__struct_fields__}


_TYPES: dict[type[msgspec.Struct], dict[str, pa.DataType]] = {
    s: _types(s) for s in (ActionRow, ErrorRow, UserEventRow, SessionTouch, DiagRow)
}
_US = pa.timestamp("us")
_MS = pa.timestamp("ms")


def _columns(
    struct: type[msgspec.Struct], names: Sequence[str], rows: list[tuple[Any, ...]]
) -> dict[str, pa.Array]:
    """Arrow arrays of ``struct``'s columns ``names`` from row tuples."""
    return _arrays(struct, names, _transpose(rows, len(names)))


def _arrays(
    struct: type[msgspec.Struct], names: Sequence[str], columns: Sequence[Sequence[Any]]
) -> dict[str, pa.Array]:
    """Arrow arrays of ``struct``'s columns ``names`` from Python columns."""
    types = _TYPES[struct]
    out = {}
    for name, column in zip(names, columns, strict=True):
        array = pa.array(column, types[name])
        out[name] = array.cast(_US) if types[name] == _MS else array
    return out


def _table(struct: type[msgspec.Struct], parts: Sequence[dict[str, pa.Array]]) -> pa.Table:
    """The columns of ``struct`` in order, each from whichever part has it."""
    merged = {k: v for part in parts for k, v in part.items()}
    return pa.table({name: merged[name] for name in _order(struct)})


def _order(struct: type[msgspec.Struct]) -> tuple[str, ...]:
    # Dimension columns first, as the structs declare them, except for sessions (key first).
    if struct is SessionTouch:
        own = tuple(f for f in struct.__struct_fields__ if f not in DIMS)
        return own + DIMS
    return tuple(struct.__struct_fields__)


def _span(nt: dict[str, float], a: str, b: str) -> float | None:
    x, y = nt.get(a), nt.get(b)
    return None if x is None or y is None else y - x


def _timings(nt: dict[str, float] | None) -> tuple[float | None, ...]:
    """redirect … network from Navigation Timing (W3C names, ms since the action's start)."""
    if not nt:
        return _NO_TIMINGS
    request = _span(nt, "requestStart", "responseStart")
    response = _span(nt, "responseStart", "responseEnd")
    secure = nt.get("secureConnectionStart")
    request_start = nt.get("requestStart")
    return (
        _span(nt, "redirectStart", "redirectEnd"),
        _span(nt, "domainLookupStart", "domainLookupEnd"),
        _span(nt, "connectStart", "connectEnd"),
        _span(nt, "secureConnectionStart", "connectEnd") if secure and secure > 0 else None,
        request,
        response,
        _span(nt, "responseEnd", "domComplete"),
        nt.get("domInteractive"),
        nt.get("domContentLoadedEventEnd"),
        nt.get("domComplete"),
        nt.get("loadEventEnd"),
        None if request_start is None or response is None else request_start + response,
    )


def _cut(text: str | None, n: int) -> str | None:
    return text[:n] if text is not None else None


@dataclass(slots=True)
class _Beacon:
    """What the rows of one beacon share."""

    index: int
    beacon: wire.Beacon
    received: int
    app: str
    rules: AppRules
    dims: tuple[Any, ...]
    events: list[tuple[wire.Event, int, str]]  # (event, server time, raw URL)


class Pipeline:
    """The batch step; owned by one thread.

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
        self.agents = ua.Parser(settings.ua_cache_size)
        self.locator = locator or geo.open_locator(settings.geoip_path, settings.geo_networks)
        self.pages = urls.PageCap(settings.max_pages)
        self.detector = Detector(settings.app_detection_rules, settings.default_app)
        self.defaults = rules_for({}, settings)
        self._rules: dict[str, AppRules] = {}
        self._configs: dict[str, tuple[dict[str, Any], AppRules]] = {}
        # Per application: the rules its URLs were normalised by, and raw URL → (url, page, cut).
        self._normal: dict[str, tuple[AppRules, dict[str, tuple[str, str, bool]]]] = {}
        self.set_apps(apps)
        maps = open_maps(settings)
        self.symbolicator = Symbolicator(maps, settings.sourcemap_cache_size) if maps else None
        limits = {"cls": float(settings.max_cls)}
        self._limits = tuple(limits.get(m, float(settings.max_timing_ms)) for m in MEASURES)

    def close(self) -> None:
        self.locator.close()

    def set_apps(self, apps: Sequence[App]) -> None:
        """Use these applications' rules from the next batch on (an invalid config is logged and
        the defaults apply). An application whose config did not change keeps its rules, and
        with them its cached URLs."""
        known = self._configs
        self._configs = {}
        for app in apps:
            previous = known.get(app.id)
            if previous is not None and previous[0] == app.config:
                self._configs[app.id] = previous
                continue
            try:
                rules = rules_for(app.config, self.settings)
            except (ValueError, TypeError, KeyError, AttributeError) as e:
                log.error("application %s: invalid config (%s); using the defaults", app.id, e)
                rules = self.defaults
            self._configs[app.id] = (copy.deepcopy(app.config), rules)
        self._rules = {app: rules for app, (_, rules) in self._configs.items()}
        # third_party: an application's own origins are first party (with each page's own).
        self._first = {
            app.id: frozenset(o[0] for o in map(origin_of, app.origins) if o) for app in apps
        }

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
        """Turn spooled beacons into one batch of Arrow tables (see the module docstring).

        Raises msgspec.DecodeError for a body the collector would not have accepted.
        """
        ctx = ctx or Context(self.settings)
        if not raws:
            return Batch()
        # A batch allocates hundreds of thousands of short-lived objects and no reference cycle:
        # the cyclic garbage collector's passes over them cost a third of the step.
        collecting = gc.isenabled()
        gc.disable()
        try:
            chunks = _by_session(raws, self.settings.batch_step_chunk_beacons)
            parts = [self._run(chunk, ctx) for chunk in chunks]
        finally:
            if collecting:
                gc.enable()
        return parts[0] if len(parts) == 1 else Batch.concat(parts)

    def _run(self, raws: Sequence[Raw], ctx: Context) -> Batch:
        beacons, raw_urls = self._load(raws, ctx)
        url_rows, url_index = self._urls(raw_urls)
        beacons = self._drop_bots(beacons, ctx)
        bcols = self._beacon_columns(beacons)
        ucols = _columns(ActionRow, _URL_COLS, url_rows)
        acts, errs, users, diags = self._rows(beacons, url_index, ctx)
        own, durations = self._actions(acts, ctx)
        pages = [page for _, page in url_rows]
        return Batch(
            actions=self._output(ActionRow, acts, own, bcols, ucols),
            errors=self._output(ErrorRow, errs, None, bcols, ucols),
            user_events=self._output(UserEventRow, users, None, bcols, ucols),
            sessions=self._sessions(beacons, pages, acts, durations, users),
            diagnostics=self._output(DiagRow, diags, None, bcols, ucols) if diags else None,
        )

    # -- load, drop_times, detect_app, enrich_ua, mask_ip + locate ----------------------------
    def _load(
        self, raws: Sequence[Raw], ctx: Context
    ) -> tuple[list[_Beacon], set[tuple[str, str]]]:
        """The beacons with their events in time, and every (app, raw URL) of those events."""
        s = self.settings
        past, future = int(s.max_event_age_ms), int(s.max_future_ms)
        out: list[_Beacon] = []
        seen: set[tuple[str, str]] = set()
        out_of_range = unknown = 0
        shared: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        action = wire.Action
        for raw in raws:
            b = _decode(raw.body)
            r = raw.received
            skew = r - b.sent
            lo, hi, url = r - past, r + future, b.url
            app = b.app or self.detector.detect(page_url(b), raw.origin)
            events = []
            for e in b.events:
                # An event's time = its client time + (receive time - client send time).
                t = (e.start if type(e) is action else e.time) + skew  # type: ignore[union-attr]
                if lo <= t <= hi:
                    u = e.url or url
                    events.append((e, t, u))
                    seen.add((app, u))
            out_of_range += len(b.events) - len(events)
            if not events:
                continue
            if not app:
                unknown += len(events)
                continue
            rules = self.rules(app)
            env = b.env
            h = env.uach
            hints = (
                ua.hints_of(
                    h.brand_versions(),
                    h.mobile,
                    h.platform,
                    h.platform_version or h.platformVersion,
                    h.model,
                )
                if h is not None
                else None
            )
            agent = self.agents.parse(raw.ua, hints)
            # Masking first, at the app's level (the collector already masked at its own).
            place = self.locator.locate(mask_ip(raw.ip, rules.ip_mask_level))
            dims = (
                agent.browser, agent.browser_version, agent.os, agent.os_version, agent.device,
                agent.user_type, place.country, place.region, place.city, place.lat, place.lon,
                env.conn, env.release,
            )  # fmt: skip
            dims = shared.setdefault(dims, dims)  # one object per distinct value
            out.append(_Beacon(len(out), b, r, app, rules, dims, events))
        if out_of_range:
            ctx.drops["timestamp_out_of_range"] += out_of_range
        if unknown:
            ctx.drops["unknown_app"] += unknown
        seen = {key for key in seen if key[0]}  # not those of beacons without an application
        return out, seen

    def _drop_bots(self, beacons: list[_Beacon], ctx: Context) -> list[_Beacon]:
        kept = []
        for b in beacons:
            user_type = b.dims[5]
            if user_type == ua.BOT and b.rules.drop_bots:
                ctx.drops["bot"] += len(b.events)
            elif user_type == ua.SYNTHETIC and b.rules.drop_synthetic:
                ctx.drops["synthetic"] += len(b.events)
            else:
                kept.append(b)
        for i, b in enumerate(kept):
            b.index = i
        return kept

    def _beacon_columns(self, beacons: list[_Beacon]) -> dict[str, pa.Array]:
        rows = [
            (
                b.app,
                b.beacon.sid,
                b.beacon.page,
                b.beacon.seq,
                b.received,
                b.beacon.weight,
                b.beacon.agent,
                *b.dims,
            )
            for b in beacons
        ]
        return _columns(ActionRow, _BEACON_COLS + DIMS, rows)

    # -- normalise_urls + mask_personal -------------------------------------------------------
    def _urls(
        self, raw_urls: set[tuple[str, str]]
    ) -> tuple[list[tuple[str, str]], dict[tuple[str, str], tuple[int, str, bool]]]:
        """(url, page) per distinct (app, raw URL), and the index of each with its page and
        whether it was cut. Bots' URLs included, admitted to the page cap in a stable order so it
        admits the same pages whatever the batch boundaries."""
        rows: list[tuple[str, str]] = []
        index: dict[tuple[str, str], tuple[int, str, bool]] = {}
        for app, raw in sorted(raw_urls):
            rules = self.rules(app)
            cache = self._normal.get(app)
            if cache is None or cache[0] is not rules:
                cache = self._normal[app] = (rules, {})
            found = cache[1].get(raw)
            if found is None:
                if len(cache[1]) >= self.settings.url_cache_size:
                    cache[1].clear()
                found = cache[1][raw] = self._normalise(rules, raw)
            url, page, cut = found
            page = self.pages.admit(app, page, rules.max_pages)
            index[(app, raw)] = (len(rows), page, cut)
            rows.append((url, page))
        return rows, index

    def _normalise(self, rules: AppRules, raw: str) -> tuple[str, str, bool]:
        """(URL as stored, page, whether the URL was cut) by the application's rules."""
        n = self.settings.max_url_length
        stripped = urls.strip_url(raw, rules.keep_query, rules.keep_fragment)
        page = rules.page_groups.apply(urls.page_of(stripped, rules.keep_fragment))
        if rules.mask_personal:
            stripped = mask_url(stripped)
            page = mask_url(page)
        return stripped[:n], page[:n], len(stripped) > n

    # -- actions, errors, user events ---------------------------------------------------------
    def _rows(
        self,
        beacons: list[_Beacon],
        url_index: dict[tuple[str, str], tuple[int, str, bool]],
        ctx: Context,
    ) -> tuple[
        list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]
    ]:
        """Row tuples: (beacon index, URL index, event key, sort key, time, own values…).

        An action's own values are its raw measures and what scoring needs (``_ACTION_RAW``);
        the measures are checked and scored a column at a time (``_actions``).
        """
        s = self.settings
        n, n_msg, n_stack, n_url = (
            s.max_name_length,
            s.max_message_length,
            s.max_stack_length,
            s.max_url_length,
        )
        acts: list[tuple[Any, ...]] = []
        errs: list[tuple[Any, ...]] = []
        users: list[tuple[Any, ...]] = []
        diags: list[tuple[Any, ...]] = []
        cut = 0
        fingerprints: dict[tuple[str, str, str | None, str | None, str, str | None], str] = {}
        Action, Error = wire.Action, wire.Error  # looked up once
        for b in beacons:
            bi, app, rules, beacon = b.index, b.app, b.rules, b.beacon
            sid, pv, mask = beacon.sid, beacon.page, rules.mask_personal
            base = _key_base(app, sid, pv)
            # Errors that happened in an action make it frustrated (errors of this beacon only);
            # a CSP violation and the failed load of the URL it blocked are one error.
            in_action: dict[str, list[tuple[int, int]]] = {}
            blocked: set[str | None] = set()
            for e, t, _ in b.events:
                if type(e) is Error:
                    if e.action is not None:
                        in_action.setdefault(e.action, []).append((t, e.count))
                    if e.type == "csp" and e.source:
                        blocked.add(e.source)
            for e, t, raw_url in b.events:
                ui, page, url_cut = url_index[app, raw_url]
                cut += url_cut
                eid = _event_key(base, e.id)
                if type(e) is Action:
                    vitals = e.vitals or _NO_VITALS
                    lcp, inp, cls = vitals.get("lcp"), vitals.get("inp"), vitals.get("cls")
                    fcp, ttfb, fid = vitals.get("fcp"), vitals.get("ttfb"), vitals.get("fid")
                    phase = _inp_phases(inp) if inp is not None and inp.phase else _NO_VITALS
                    name = (mask_personal(e.name) if mask else e.name) if e.name else ""
                    full_name = name or f"{_VERB[e.type]} {page}"
                    trigger = e.trigger
                    if trigger:
                        trigger = mask_personal(trigger) if mask else trigger
                        cut += len(trigger) > n
                    targets: tuple[str | None, ...] = (
                        lcp.target if lcp is not None else None,
                        inp.target if inp is not None else None,
                        cls.target if cls is not None else None,
                    )
                    cut += len(full_name) > n
                    if targets != _NO_TARGETS:
                        cut += sum(1 for x in targets if x and len(x) > n)
                        targets = tuple(x[:n] if x else x for x in targets)
                    # score_apdex: the key action's thresholds, else the app's for the type.
                    th = rules.key_actions.get(full_name) or rules.apdex[e.type]
                    acts.append(
                        (
                            bi, ui, eid, beacon.seq, t, e.id, e.type, full_name[:n],
                            trigger[:n] if trigger else None, *targets, e.long_tasks, e.requests,
                            _errors_in(in_action.get(e.id), t, e.duration), th.t, th.f, th.metric,
                            rules.apdex_error_frustrates,
                            e.duration,
                            None if lcp is None else lcp.value,
                            None if cls is None else cls.value,
                            None if inp is None else inp.value,
                            None if fcp is None else fcp.value,
                            _ttfb(e.nt) if ttfb is None else ttfb.value,
                            None if fid is None else fid.value,
                            phase.get("input_delay"),
                            phase.get("processing"),
                            phase.get("presentation"),
                            *(_timings(e.nt) if e.nt else _NO_TIMINGS),
                            e.long_task_ms,
                            e.trace,
                        )
                    )  # fmt: skip
                elif type(e) is Error:
                    if e.type == "resource" and e.source in blocked:
                        ctx.drops["csp_blocked_resource"] += 1
                        continue
                    message = error_message(e.name, e.message)
                    message = mask_personal(message) if mask else message
                    stack = mask_stack(e.stack) if mask and e.stack else e.stack
                    release = b.dims[_RELEASE]
                    raw_source, line, col = e.source, e.line, e.col
                    if raw_source is None and e.stack:  # the top frame's (agent 1.2 on)
                        raw_source, line, col = top_frame(e.stack) or (None, line, col)
                    fkey = (e.type, message, stack, raw_source, app, release)
                    fp = fingerprints.get(fkey)
                    if fp is None:
                        fp = fingerprints[fkey] = fingerprint(
                            e.type, message, stack, raw_source, self._grouping(app, release, stack)
                        )
                    source = urls.strip_url(raw_source) if raw_source else raw_source
                    if mask and source:
                        source = mask_url(source)
                    cut += (
                        (len(e.message) > n_msg)
                        + (e.stack is not None and len(e.stack) > n_stack)
                        + (e.name is not None and len(e.name) > n)
                        + (raw_source is not None and len(raw_source) > n_url)
                    )
                    errs.append(
                        (
                            bi, ui, eid, b.received, t, e.id, e.action, e.type,
                            _cut(e.name, n), message[:n_msg], fp, _cut(stack, n_stack),
                            _cut(source, n_url), line, col, e.status, e.count, e.trace,
                        )
                    )  # fmt: skip
                elif type(e) is wire.Diag:
                    first = self._first.get(app, frozenset())
                    page_origin = origin_of(raw_url)
                    if page_origin:
                        first = first | {page_origin[0]}
                    cut += self._diag_rows(diags, bi, ui, base, b.received, t, e, first, mask, ctx)
                else:
                    assert type(e) is wire.UserEvent
                    cut += e.value is not None and len(e.value) > n
                    users.append(
                        (
                            bi, ui, eid, b.received, t, e.id, e.action, e.type,
                            _cut(e.value, n), e.x, e.y, e.count,
                        )
                    )  # fmt: skip
        if cut:
            ctx.drops["truncated_string"] += cut
        return acts, errs, users, diags

    def _diag_rows(
        self,
        out: list[tuple[Any, ...]],
        bi: int,
        ui: int,
        base: Any,
        received: int,
        t: int,
        e: wire.Diag,
        first: frozenset[str],
        mask: bool,
        ctx: Context,
    ) -> int:
        """diagnostics: one row per item of a diag event (``_DIAG_OWN`` order), its URLs
        stripped and masked, each classified first / third party and by known provider. An item
        with a time beyond ``max_timing_ms`` is dropped (``diag_invalid_timing``). Returns the
        strings cut."""
        n, n_url = self.settings.max_name_length, self.settings.max_url_length
        limit = float(self.settings.max_timing_ms)
        t0 = t - e.time + e.t0 if e.t0 else None  # the page's time origin, server clock
        cut = 0

        def who(url: str | None) -> tuple[str | None, ...]:
            found = origin_of(url) if url else None
            if found is None:
                return None, None, None, None
            p = provider(found[1])
            return found[0], party(found[0], first), *((p.name, p.category) if p else (None, None))

        def clean(url: str | None) -> str | None:
            nonlocal cut
            if not url:
                return None
            url = urls.strip_url(url)
            url = mask_url(url) if mask else url
            cut += len(url) > n_url
            return url[:n_url]

        def text(value: str | None) -> str | None:
            nonlocal cut
            if not value:
                return None
            value = mask_personal(value) if mask else value
            cut += len(value) > n
            return value[:n]

        def add(i: int, kind: str, start: float | None, *values: Any) -> None:
            when = int(t0 + start) if t0 is not None and start is not None else t
            out.append((bi, ui, _event_key(base, f"{e.id}:{i}"), received, when, e.id, kind,
                        start, *values))  # fmt: skip

        i = 0
        bad = 0
        scripts: list[tuple[tuple[Any, ...] | None, wire.Script]] = [(None, s) for s in e.scripts]
        for x in e.interactions:
            if x.dur > limit:
                bad += 1
                continue
            target = text(x.target)
            about = (target, text(x.type), x.dur, x.inp)
            add(i, "interaction", x.start, None, None, None, None, None, *about, *_NO_SCRIPT,
                x.dur, None, *_NO_RESOURCE)  # fmt: skip
            i += 1
            scripts.extend((about, s) for s in x.scripts)
        for inter, s in scripts:
            if s.dur > limit:
                bad += 1
                continue
            item = clean(s.src)
            add(i, "script", s.start, item, *who(item), *(inter or _NO_INTERACTION),
                text(s.fn), text(s.inv), text(s.inv_type), s.dur, s.fsl, *_NO_RESOURCE)  # fmt: skip
            i += 1
        for r in e.resources:
            if r.dur > limit:
                bad += 1
                continue
            item = clean(r.url)
            add(i, "resource", r.start, item, *who(item), *_NO_INTERACTION, *_NO_SCRIPT,
                r.dur, None, r.dns, r.connect, r.tls, r.req, r.res, r.size, r.body, r.cache,
                text(r.type), r.blocking, r.lcp, None)  # fmt: skip
            i += 1
        for o in e.origins:
            found = origin_of(o.origin)
            if found is None or o.dur > limit * max(o.count, 1):
                bad += 1
                continue
            add(i, "origin", None, found[0], *who(found[0]), *_NO_INTERACTION, *_NO_SCRIPT,
                o.dur, None, None, None, None, None, None, o.size, None, None, None, False,
                False, o.count)  # fmt: skip
            i += 1
        if bad:
            ctx.drops["diag_invalid_timing"] += bad
        return cut

    def _grouping(self, app: str, release: str | None, stack: str | None) -> str | None:
        """symbolicate: the in-app frames an error is grouped by, resolved through its release's
        source maps; None without them (docs/errors.md)."""
        if self.symbolicator is None or not stack or not release:
            return None
        return grouping_frames(self.symbolicator.resolve(app, release, stack, context=0))

    def _actions(
        self, rows: list[tuple[Any, ...]], ctx: Context
    ) -> tuple[dict[str, pa.Array], list[float | None]]:
        """The actions' own columns, measures checked and Apdex scored a column at a time, and
        each row's (capped) duration for the sessions."""
        s = self.settings
        raw = dict(zip(_ACTION_RAW, _transpose(rows, len(_ACTION_RAW)), strict=True))
        out = {}
        bad = 0
        for name, limit in zip(MEASURES, self._limits, strict=True):
            column = raw[name]
            if column.count(None) == len(column):  # common: a measure no action here has
                out[name] = pa.nulls(len(column), pa.float64())
                continue
            values = pa.array(column, pa.float64())
            ok = pc.and_(pc.greater_equal(values, 0.0), pc.less_equal(values, limit))
            bad += pc.sum(pc.invert(ok)).as_py() or 0
            if name != "cls":  # unitless: kept as measured
                # Whole ms: browsers coarsen timings to 0.1 ms or more, the dashboard shows whole
                # ms, and whole numbers take a quarter of the bytes (bench/store_bytes). Rounded
                # before scoring, so that ratings and Apdex agree with the stored value.
                values = pc.round(values, round_mode="half_up")
            out[name] = pc.if_else(ok, values, None)
        duration = pc.min_element_wise(
            out["duration"], float(s.max_action_duration_ms), skip_nulls=False
        )
        request, network = out["request"], out["network"]
        frontend = pc.max_element_wise(
            pc.subtract(pc.subtract(duration, request), network), 0.0, skip_nulls=False
        )
        out.update(
            duration=duration,
            server_time=request,
            network_time=pc.if_else(pc.is_null(request), None, network),
            frontend_time=frontend,
            long_task_ms=pc.fill_null(out["long_task_ms"], 0.0),
        )
        # score_apdex: the key metric, falling back to the (capped) duration.
        metrics = pa.array(raw["metric"], pa.string())
        value = pa.nulls(len(metrics), pa.float64())
        for metric in set(raw["metric"]) - {"duration"}:
            value = pc.if_else(pc.equal(metrics, metric), out[metric], value)
        out["apdex"] = apdex.classify_arrow(
            pc.coalesce(value, duration),
            pa.array(raw["t"], pa.float64()),
            pa.array(raw["f"], pa.float64()),
            pc.greater(pa.array(raw["errors"], pa.int64()), 0),
            pa.array(raw["error_frustrates"], pa.bool_()),
        )
        if bad:
            ctx.drops["value_out_of_range"] += bad
        types = _TYPES[ActionRow]
        for name in _ACTION_OWN:
            if name not in out:
                out[name] = pa.array(raw[name], types[name])
        out["time"] = pa.array(raw["time"], pa.int64()).cast(_MS).cast(_US)
        out["eid"] = pa.array(raw["eid"], pa.uint64())
        return {k: out[k] for k in ("eid", "time", *_ACTION_OWN)}, duration.to_pylist()

    def _output(
        self,
        struct: type[msgspec.Struct],
        rows: list[tuple[Any, ...]],
        own: dict[str, pa.Array] | None,
        bcols: dict[str, pa.Array],
        ucols: dict[str, pa.Array],
    ) -> pa.Table:
        """The table of ``rows`` (their own columns: ``own``, else from the tuples); one row per
        event key, the latest (highest sort key) wins."""
        latest = {row[2]: i for i, row in enumerate(rows)}
        if len(latest) < len(rows):  # an event more than once: its latest report wins
            latest = {}
            for i, row in enumerate(rows):
                seen = latest.get(row[2])
                if seen is None or row[3] > rows[seen][3]:
                    latest[row[2]] = i
        kept = pa.array(latest.values(), pa.int64())
        if own is None:
            names = ("eid", "time", *_OWN[struct])
            columns = _transpose(rows, 5 + len(_OWN[struct]))
            own = _arrays(struct, names, [columns[2], *columns[4:]])
        bi = pa.array([r[0] for r in rows], pa.int32()).take(kept)
        ui = pa.array([r[1] for r in rows], pa.int32()).take(kept)
        names_in = set(struct.__struct_fields__)
        joined = {k: v.take(bi) for k, v in bcols.items() if k in names_in}
        joined.update({k: v.take(ui) for k, v in ucols.items()})
        joined.update({k: v.take(kept) for k, v in own.items()})
        return _table(struct, [joined])

    # -- sessions -----------------------------------------------------------------------------
    def _sessions(
        self,
        beacons: list[_Beacon],
        pages: list[str],
        acts: list[tuple[Any, ...]],
        durations: list[float | None],
        users: list[tuple[Any, ...]],
    ) -> pa.Table:
        """What this batch knows of each session that had an action in it."""
        # Per (app, session): [start, last_seen, last_received, entry page, exit page, weight,
        # visitor, [(time, dims)] for each distinct dims seen].
        found: dict[tuple[str, str], list[Any]] = {}
        current = -1
        cur: list[Any] = []
        for row, duration in zip(acts, durations, strict=True):
            t = row[4]
            # Duration rounded half away from zero, as SQL's cast to BIGINT.
            end = t + (int(duration + 0.5) if duration is not None else 0)
            page = pages[row[1]]
            if row[0] != current:  # the rows of one beacon are consecutive
                current = row[0]
                b = beacons[current]
                key = (b.app, b.beacon.sid)
                if key not in found:
                    found[key] = [t, end, b.received, page, page, b.beacon.weight,
                                  b.beacon.visitor, [(t, b.dims)]]  # fmt: skip
                cur = found[key]
                cur[2] = max(cur[2], b.received)
                cur[5] = max(cur[5], b.beacon.weight)
                if cur[6] is None:
                    cur[6] = b.beacon.visitor
                if b.dims is not cur[7][-1][1]:
                    cur[7].append((t, b.dims))
            if t < cur[0]:
                cur[0], cur[3] = t, page
            if end > cur[1]:
                cur[1], cur[4] = end, page
        tags: dict[tuple[str, str], tuple[int, str | None]] = {}
        ended: set[tuple[str, str]] = set()
        for row in users:
            b = beacons[row[0]]
            key = (b.app, b.beacon.sid)
            if row[7] == "user_tag" and (key not in tags or row[4] > tags[key][0]):
                tags[key] = (row[4], row[8])
            elif row[7] == "session_end":
                ended.add(key)
        rows = [
            (
                app, sid, v[0], v[1], v[2], v[3], v[4], v[5], v[6],
                tags[(app, sid)][1] if (app, sid) in tags else None, (app, sid) in ended,
                *_first_known(v[7]),
            )
            for (app, sid), v in found.items()
        ]  # fmt: skip
        return _table(SessionTouch, [_columns(SessionTouch, _order(SessionTouch), rows)])


class _Session(msgspec.Struct):
    sid: str = ""


_session_of = msgspec.json.Decoder(_Session).decode


def _by_session(raws: Sequence[Raw], size: int) -> list[Sequence[Raw]]:
    """``raws`` in chunks of about ``size`` beacons, the beacons of one session in one chunk (in
    the order they came), so that the chunks' session rows make the batch's. A decoded beacon
    takes a few KB: enriched a chunk at a time, a batch's beacons are never all decoded at once
    (``bench/enrich`` measures the memory and the speed of both ways)."""
    if len(raws) <= size:
        return [raws]
    sessions: dict[str, list[Raw]] = {}
    for raw in raws:
        try:
            sid = _session_of(raw.body).sid
        except msgspec.DecodeError:  # ``_run`` raises it for the chunk it lands in
            sid = ""
        sessions.setdefault(sid, []).append(raw)
    chunks: list[Sequence[Raw]] = []
    chunk: list[Raw] = []
    for beacons in sessions.values():
        chunk += beacons
        if len(chunk) >= size:
            chunks.append(chunk)
            chunk = []
    if chunk:
        chunks.append(chunk)
    return chunks


def _errors_in(errors: list[tuple[int, int]] | None, start: int, duration: float | None) -> int:
    """How many of an action's ``errors`` ((time, count), this beacon's) happened before it
    ended: one that came later (a background request's, say) belongs to the page view and
    changes nothing of the ended action (../RUM.md "User actions")."""
    if not errors:
        return 0
    if duration is None:  # still running when sent
        return sum(count for _, count in errors)
    end = start + duration + ERROR_SLACK_MS
    return sum(count for t, count in errors if t <= end)


def _ttfb(nt: dict[str, float] | None) -> float | None:
    """TTFB as web-vitals' onTTFB: the load's responseStart after prerender activation, from
    its Navigation Timing (the agent sends no ``ttfb`` vital from 1.2 on)."""
    if not nt or "responseStart" not in nt:
        return None
    return max(nt["responseStart"] - nt.get("activationStart", 0.0), 0.0)


def _inp_phases(inp: wire.Vital) -> dict[str, float]:
    """INP's phases (docs/protocol.md ``phase``): as sent by agents before 1.2, or made of the
    event timing entry's timestamps the agent sends from 1.2 on (web-vitals' attribution:
    rounded as JavaScript's Math.round)."""
    phase = inp.phase or _NO_VITALS
    start, begun, ended = (phase.get(k) for k in ("startTime", "processingStart", "processingEnd"))
    if start is None or begun is None or ended is None:
        return phase
    return {
        "input_delay": math.floor(begun - start + 0.5),
        "processing": math.floor(ended - begun + 0.5),
        "presentation": math.floor(max(start + inp.value - ended, 0) + 0.5),
    }


def _transpose(rows: list[tuple[Any, ...]], width: int) -> list[tuple[Any, ...]]:
    return list(zip(*rows, strict=True)) if rows else [() for _ in range(width)]


def _first_known(seen: list[tuple[int, tuple[Any, ...]]]) -> tuple[Any, ...]:
    """Each dimension of a session: its earliest known value (beacons may differ, e.g. a
    country found for one address and not the next)."""
    if len(seen) == 1:
        return seen[0][1]
    seen = sorted(seen, key=lambda x: x[0])
    out = list(seen[0][1])
    for _, dims in seen[1:]:
        out = [v if v is not None else d for v, d in zip(out, dims, strict=True)]
    return tuple(out)


# An action row tuple (``_rows``), measured and scored a column at a time (``_actions``).
_ACTION_RAW = (
    "bi", "ui", "eid", "seq", "time", "event_id", "action_type", "action_name", "trigger",
    "lcp_target", "inp_target", "cls_target", "long_tasks", "requests", "errors", "t", "f",
    "metric", "error_frustrates", *MEASURES, "trace_id",
)  # fmt: skip
# The actions' own columns: all but the key, the time and those joined by beacon and URL.
_ACTION_OWN = tuple(
    f
    for f in ActionRow.__struct_fields__
    if f not in ("eid", "time", *DIMS, *_BEACON_COLS, *_URL_COLS)
)
# An error or user event row tuple: (beacon index, URL index, key, sort key, time, these).
_OWN: dict[type[msgspec.Struct], tuple[str, ...]] = {
    ErrorRow: (
        "event_id", "action_event_id", "error_type", "error_name", "message", "fingerprint",
        "stack", "source", "line", "col", "status", "count", "trace_id",
    ),
    UserEventRow: (
        "event_id", "action_event_id", "event_type", "value", "x", "y", "count",
    ),
    DiagRow: (
        "event_id", "kind", "start_ms", "item", "origin", "party", "provider",
        "category", "interaction", "interaction_type", "interaction_ms", "inp", "function_name",
        "invoker", "invoker_type", "duration", "style_layout", "dns", "connect", "tls", "request",
        "response", "transfer_size", "body_size", "cache", "initiator", "render_blocking", "lcp",
        "count",
    ),
}  # fmt: skip
_NO_INTERACTION = (None, None, None, False)
_NO_SCRIPT = (None, None, None)
_NO_RESOURCE = (None,) * 9 + (False, False, None)  # dns … initiator, blocking, lcp, count
