"""The batch step: received beacons → enriched, scored rows for the store.

A named pipeline of small pure steps. Per beacon: ``enrich_ua``, ``environment`` (dimensions
every row of the beacon shares). Per event: ``correct_clock``, ``clean``, ``normalise_url``,
``timings``, ``score_apdex``. Any step may drop an event with a reason; drops are counted per
reason (``Drops``) and exposed in /metrics. Nothing here does I/O: time arrives as ``now``.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass, field

import msgspec

from openrum.collect.beacon import Action, Beacon, Error
from openrum.enrich import ua, urls
from openrum.rows import ActionRow, Batch, Dims, ErrorRow, SessionTouch, UserEventRow
from openrum.scoring import apdex
from openrum.settings import Settings


class Received(msgspec.Struct):
    """A decoded beacon with what the collector stamped on it."""

    beacon: Beacon
    received: int  # server clock, epoch ms
    ip: str
    ua: str
    origin: str | None = None


@dataclass
class Context:
    """What the steps read: settings and the drop counter."""

    settings: Settings
    drops: Counter[str] = field(default_factory=Counter)


def event_key(app: str, sid: str, page: str, event_id: str) -> int:
    """The 64-bit key that makes a re-sent event land once (stable across engines and runs)."""
    digest = hashlib.blake2b(f"{app}\x1f{sid}\x1f{page}\x1f{event_id}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "little")


def run(items: list[Received], ctx: Context) -> Batch:
    """Turn received beacons into one batch of rows."""
    batch = Batch(actions=[], errors=[], user_events=[], sessions=[])
    for item in items:
        _beacon(item, ctx, batch)
    return batch


def environment(item: Received) -> Dims:
    """Per-beacon dimensions: user agent, connection and release."""
    agent = ua.parse(item.ua)
    env = item.beacon.env
    return Dims(
        browser=agent.browser,
        browser_version=agent.browser_version,
        os=agent.os,
        os_version=agent.os_version,
        device=agent.device,
        user_type=agent.user_type,
        connection=env.conn,
        release=env.release,
    )


def _cut(value: str | None, limit: int, ctx: Context) -> str | None:
    if value is not None and len(value) > limit:
        ctx.drops["truncated_string"] += 1
        return value[:limit]
    return value


def _measure(value: float | None, limit: float, ctx: Context) -> float | None:
    if value is None:
        return None
    if not (0.0 <= value <= limit) or math.isnan(value):
        ctx.drops["value_out_of_range"] += 1
        return None
    return value


def _beacon(item: Received, ctx: Context, batch: Batch) -> None:
    s = ctx.settings
    b = item.beacon
    dims = environment(item)
    dim_values = msgspec.structs.asdict(dims)
    # Client clock skew: the agent stamps `sent` with its clock; an event's server time is the
    # receive time minus how long before sending it happened.
    offset = item.received - b.sent
    oldest = item.received - s.max_event_age_ms
    newest = item.received + s.max_future_ms
    errors_by_action: Counter[str] = Counter()
    for ev in b.events:
        if isinstance(ev, Error) and ev.action:
            errors_by_action[ev.action] += ev.count
    session: SessionTouch | None = None

    for ev in b.events:
        start = (ev.start if isinstance(ev, Action) else ev.time) + offset
        if start < oldest or start > newest:
            ctx.drops["timestamp_out_of_range"] += 1
            continue
        url = _cut(urls.strip_url(ev.url or b.url), s.max_url_length, ctx) or ""
        page = urls.page_of(url)
        key = event_key(b.app, b.sid, b.page, ev.id)
        if isinstance(ev, Action):
            row = _action_row(ev, key, start, url, page, item, dim_values, errors_by_action, ctx)
            batch.actions.append(row)
            end = start + int(row.duration or 0)
            if session is None:
                session = SessionTouch(
                    app=b.app,
                    session_id=b.sid,
                    start=start,
                    last_seen=end,
                    last_received=item.received,
                    entry_page=page,
                    exit_page=page,
                    weight=b.weight,
                    visitor_id=b.visitor,
                    **dim_values,
                )
            else:
                if start < session.start:
                    session.start, session.entry_page = start, page
                if end >= session.last_seen:
                    session.last_seen, session.exit_page = end, page
        elif isinstance(ev, Error):
            message = _cut(ev.message, s.max_message_length, ctx) or ""
            batch.errors.append(
                ErrorRow(
                    eid=key,
                    app=b.app,
                    time=start,
                    received=item.received,
                    session_id=b.sid,
                    page_view_id=b.page,
                    event_id=ev.id,
                    action_event_id=ev.action,
                    error_type=ev.type,
                    error_name=_cut(ev.name, s.max_name_length, ctx),
                    message=message,
                    fingerprint=fingerprint(ev.type, message, ev.stack, ev.source),
                    stack=_cut(ev.stack, s.max_stack_length, ctx),
                    source=_cut(ev.source, s.max_url_length, ctx),
                    line=ev.line,
                    col=ev.col,
                    status=ev.status,
                    count=ev.count,
                    url=url,
                    page=page,
                    agent_version=b.agent,
                    **dim_values,
                )
            )
        else:
            value = _cut(ev.value, s.max_name_length, ctx)
            batch.user_events.append(
                UserEventRow(
                    eid=key,
                    app=b.app,
                    time=start,
                    received=item.received,
                    session_id=b.sid,
                    page_view_id=b.page,
                    event_id=ev.id,
                    action_event_id=ev.action,
                    event_type=ev.type,
                    value=value,
                    x=ev.x,
                    y=ev.y,
                    count=ev.count,
                    url=url,
                    page=page,
                    **dim_values,
                )
            )
            if session is not None and ev.type == "user_tag":
                session.user_tag = value
            if session is not None and ev.type == "session_end":
                session.ended = True
    if session is not None:
        batch.sessions.append(session)


def _action_row(
    ev: Action,
    key: int,
    start: int,
    url: str,
    page: str,
    item: Received,
    dims: dict[str, object],
    errors_by_action: Counter[str],
    ctx: Context,
) -> ActionRow:
    s = ctx.settings
    b = item.beacon
    limit = s.max_timing_ms
    duration = _measure(ev.duration, limit, ctx)
    if duration is not None:
        duration = min(duration, s.max_action_duration_ms)
    name = ev.name or f"{_VERB[ev.type]} {page}"
    row = ActionRow(
        eid=key,
        app=b.app,
        time=start,
        received=item.received,
        session_id=b.sid,
        page_view_id=b.page,
        seq=b.seq,
        event_id=ev.id,
        action_type=ev.type,
        action_name=_cut(name, s.max_name_length, ctx) or "",
        url=url,
        page=page,
        duration=duration,
        long_tasks=ev.long_tasks,
        long_task_ms=_measure(ev.long_task_ms, limit, ctx) or 0.0,
        requests=ev.requests,
        errors=errors_by_action[ev.id],
        weight=b.weight,
        agent_version=b.agent,
        **dims,  # type: ignore[arg-type]
    )
    for name_, vital in ev.vitals.items():
        if name_ in _VITALS:
            setattr(row, name_, _measure(vital.value, s.max_cls if name_ == "cls" else limit, ctx))
            if name_ in ("lcp", "inp", "cls") and vital.target:
                setattr(row, name_ + "_target", _cut(vital.target, s.max_name_length, ctx))
            if name_ == "inp" and vital.phase:
                row.inp_input_delay = _measure(vital.phase.get("input_delay"), limit, ctx)
                row.inp_processing = _measure(vital.phase.get("processing"), limit, ctx)
                row.inp_presentation = _measure(vital.phase.get("presentation"), limit, ctx)
    if ev.nt:
        timings(row, ev.nt, limit, ctx)
    if ev.type in ("load", "custom"):
        t, f = s.apdex_load_t_ms, s.apdex_load_f_ms
    else:
        t, f = s.apdex_xhr_t_ms, s.apdex_xhr_f_ms
    row.apdex = apdex.classify(row.duration, t, f, row.errors > 0, s.apdex_error_frustrates)
    return row


_DIGITS = re.compile(r"\d+")
_VITALS = frozenset({"lcp", "cls", "inp", "fcp", "ttfb", "fid"})
_VERB = {
    "load": "loading of page",
    "xhr": "action on page",
    "route_change": "route to",
    "custom": "custom action on",
}


def timings(row: ActionRow, nt: dict[str, float], limit: float, ctx: Context) -> None:
    """Navigation Timing phases and the server / network / frontend split (../RUM.md)."""

    def span(a: str, b: str) -> float | None:
        if a in nt and b in nt:
            return _measure(nt[b] - nt[a], limit, ctx)
        return None

    def at(name: str) -> float | None:
        return _measure(nt[name], limit, ctx) if name in nt else None

    row.redirect = span("redirectStart", "redirectEnd")
    row.dns = span("domainLookupStart", "domainLookupEnd")
    row.tcp = span("connectStart", "connectEnd")
    if nt.get("secureConnectionStart"):
        row.tls = span("secureConnectionStart", "connectEnd")
    row.request = span("requestStart", "responseStart")
    row.response = span("responseStart", "responseEnd")
    row.dom_processing = span("responseEnd", "domComplete")
    row.dom_interactive = at("domInteractive")
    row.dom_content_loaded = at("domContentLoadedEventEnd")
    row.dom_complete = at("domComplete")
    row.load_event_end = at("loadEventEnd")
    if "requestStart" in nt and "responseStart" in nt and "responseEnd" in nt:
        row.server_time = row.request
        network = nt["requestStart"] + (nt["responseEnd"] - nt["responseStart"])
        row.network_time = _measure(network, limit, ctx)
        if (
            row.duration is not None
            and row.server_time is not None
            and row.network_time is not None
        ):
            row.frontend_time = max(row.duration - row.server_time - row.network_time, 0.0)


def fingerprint(kind: str, message: str, stack: str | None, source: str | None) -> str:
    """Group key of an error: its type, normalised message and top stack frame."""
    normal = urls.PLACEHOLDER.join(_DIGITS.split(message))[:200]
    top = ""
    if stack:
        for line in stack.splitlines():
            if ":" in line and ("at " in line or "@" in line):
                top = line.strip()[:200]
                break
    elif source:
        top = urls.page_of(source)
    return hashlib.blake2b(f"{kind}\x1f{normal}\x1f{top}".encode(), digest_size=8).hexdigest()
