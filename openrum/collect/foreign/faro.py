"""The Grafana Faro Web SDK's transport payload (``meta``, ``events``, ``measurements``,
``exceptions``, ``logs``, ``traces``) → native beacons: the ``faro.performance.navigation``
event as the load action, ``web-vitals`` measurements as its vitals, exceptions as errors, the
session id as the session, ``meta.user`` as a user tag. docs/ingest.md#grafana-faro has the map.

Faro sends a page view in several payloads (the navigation, then each vital as it is final) and
the store replaces an action re-sent with a higher ``seq`` whole: the load action is therefore
merged here, per page view, in memory, and re-sent with everything known so far each time a
payload adds to it. That memory is bounded, and lost on restart (docs/ingest.md says what then).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import OrderedDict
from dataclasses import dataclass, field

import msgspec

from openrum.collect.beacon import (
    Action,
    Beacon,
    Drop,
    Env,
    Error,
    Event,
    UserEvent,
    Vital,
    decode_json,
)
from openrum.collect.foreign import Format, Request, stable_id, stack, strip_url

_MAX_PAGE_VIEWS = 20_000  # page views whose load action is kept for merging
_NAVIGATION = "faro.performance.navigation"
_UNKNOWN = "unknown"
_VITALS = ("lcp", "cls", "inp", "fcp", "ttfb", "fid")
# Attribution: the context key of each vital's target.
_TARGETS = {"lcp": "element", "cls": "largest_shift_target", "inp": "interaction_target"}
# INP phases: Faro's value names → the native ones.
_INP_PHASES = {
    "input_delay": "input_delay",
    "processing_duration": "processing",
    "presentation_delay": "presentation",
}


class _Session(msgspec.Struct, gc=False):
    id: str = ""


class _Page(msgspec.Struct, gc=False):
    url: str = ""
    id: str | None = None


class _User(msgspec.Struct, gc=False):
    id: str | None = None
    username: str | None = None
    email: str | None = None


class _App(msgspec.Struct, gc=False):
    name: str | None = None
    version: str | None = None


class _Sdk(msgspec.Struct, gc=False):
    name: str | None = None
    version: str | None = None


class _Meta(msgspec.Struct, gc=False):
    session: _Session = msgspec.field(default_factory=_Session)
    page: _Page = msgspec.field(default_factory=_Page)
    user: _User | None = None
    app: _App | None = None
    sdk: _Sdk | None = None


class _FaroEvent(msgspec.Struct, gc=False):
    name: str
    timestamp: str
    attributes: dict[str, str] = {}


class _Measurement(msgspec.Struct, gc=False):
    type: str
    values: dict[str, float]
    timestamp: str
    context: dict[str, str] = {}


class _Frame(msgspec.Struct, gc=False):
    filename: str = ""
    function: str = ""
    lineno: int | None = None
    colno: int | None = None


class _Stacktrace(msgspec.Struct, gc=False):
    frames: list[_Frame] = []


class _Exception(msgspec.Struct, gc=False):
    type: str
    value: str
    timestamp: str
    stacktrace: _Stacktrace | None = None


class _Payload(msgspec.Struct, gc=False):
    meta: _Meta
    events: list[_FaroEvent] = []
    measurements: list[_Measurement] = []
    exceptions: list[_Exception] = []


_decoder = msgspec.json.Decoder(_Payload)


def _epoch_ms(timestamp: str) -> int:
    """An ISO 8601 time (``2026-12-06T14:37:20.651Z``) in epoch ms; ValueError if it is not."""
    when = dt.datetime.fromisoformat(timestamp)
    if when.tzinfo is None:
        raise ValueError(f"time without a zone: {timestamp!r}")
    return round(when.timestamp() * 1000)


def _number(attributes: dict[str, str], name: str) -> float | None:
    try:
        value = float(attributes[name])
    except (KeyError, ValueError):
        return None
    return value if math.isfinite(value) and 0 <= value < 2**31 else None


def _nt(attributes: dict[str, str]) -> dict[str, float]:
    """Navigation Timing marks (ms since navigation start) from Faro's navigation durations.
    Faro sends phase lengths; the marks are rebuilt from them, the connection phases placed one
    after the other from ``fetchStart`` (which holds without redirects and connection reuse)."""

    def get(name: str) -> float | None:
        return _number(attributes, name)

    nt: dict[str, float] = {}
    ttfb, request, response = get("ttfb"), get("requestTime"), get("responseTime")
    if ttfb is None:
        return nt
    nt["responseStart"] = ttfb
    if request is not None:
        nt["requestStart"] = max(ttfb - request, 0.0)
    if response is not None:
        nt["responseEnd"] = ttfb + response
        fetch = get("fetchTime")
        if fetch is not None:
            start = max(nt["responseEnd"] - fetch, 0.0)
            nt["fetchStart"] = start
            dns, tcp, tls = get("dnsLookupTime"), get("tcpHandshakeTime"), get("tlsNegotiationTime")
            if dns is not None and tcp is not None:
                nt["domainLookupStart"] = start
                nt["domainLookupEnd"] = nt["connectStart"] = start + dns
                nt["connectEnd"] = start + dns + tcp
                if tls is not None and 0 < tls <= tcp:
                    nt["secureConnectionStart"] = nt["connectEnd"] - tls
            load = get("pageLoadTime")
            if load is not None:
                nt["domComplete"] = start + load
                processing = get("domProcessingTime")
                if processing is not None:
                    nt["domInteractive"] = max(nt["domComplete"] - processing, 0.0)
    duration, onload = get("duration"), get("onLoadTime")
    if duration is not None:
        nt["loadEventEnd"] = duration
        if onload is not None:
            nt["loadEventStart"] = max(duration - onload, 0.0)
    return nt


@dataclass
class _View:
    """What is known of one page view's load action: merged from the payloads."""

    navigation: str = ""  # Faro's navigation id; "" until the navigation event came
    action: Action | None = None
    vitals: dict[str, Vital] = field(default_factory=dict)
    seq: int = 0


class Faro:
    """The translator, with the page views whose load action may still gain vitals."""

    def __init__(self, max_views: int = _MAX_PAGE_VIEWS) -> None:
        self.max_views = max_views
        self.views: OrderedDict[tuple[str, str, str], _View] = OrderedDict()

    def view(self, key: tuple[str, str, str]) -> _View:
        found = self.views.get(key)
        if found is None:
            found = self.views[key] = _View()
            if len(self.views) > self.max_views:
                self.views.popitem(last=False)
        else:
            self.views.move_to_end(key)
        return found

    def translate(self, req: Request) -> list[Beacon] | Drop:
        payload = decode_json(_decoder, req.body)
        if isinstance(payload, Drop):
            return payload
        try:
            return self._translate(payload, req)
        except ValueError as e:  # a timestamp that is not one
            return Drop("malformed_field", detail=str(e))

    def _translate(self, payload: _Payload, req: Request) -> list[Beacon]:
        meta = payload.meta
        url = strip_url(meta.page.url)
        sid = meta.session.id or f"faro-{stable_id(req.app, url)}"
        page = meta.page.id or f"faro-{stable_id(sid, url)}"
        view = self.view((req.app, sid, page))
        times: list[int] = []
        changed = False
        for event in payload.events:
            if event.name == _NAVIGATION:
                nav = event.attributes.get("faroNavigationId", "")
                if view.navigation and nav != view.navigation:  # a reload of the same URL
                    view.vitals, view.seq = {}, 0
                view.navigation = nav or _UNKNOWN
                start = _epoch_ms(event.timestamp)
                duration = _number(event.attributes, "duration")
                view.action = Action(
                    id=f"load-{stable_id(view.navigation, start)}",
                    type="load",
                    start=start,
                    url=strip_url(event.attributes.get("name", "")) or url,
                    duration=duration,
                    nt=_nt(event.attributes) or None,
                )
                times.append(start + int(duration or 0))
                changed = True
        for m in payload.measurements:
            times.append(_epoch_ms(m.timestamp))
            if m.type != "web-vitals":
                continue  # custom measurements: nothing native to hold them
            changed |= _vital(view, m)
        events: list[Event] = []
        action = view.action
        if changed and action is not None:
            view.seq += 1
            events.append(msgspec.structs.replace(action, vitals=dict(view.vitals)))
        for exc in payload.exceptions:
            error = _error(exc, url, action.id if action else None)
            times.append(error.time)
            events.append(error)
        user = meta.user
        tag = user and (user.username or user.email or user.id)
        if tag:
            when = max(times) if times else req.now
            events.append(
                UserEvent(id=f"user-{stable_id(tag)}", type="user_tag", time=when, value=tag)
            )
        if not events:
            return []
        release = meta.app.version if meta.app else None
        sdk = meta.sdk
        return [
            Beacon(
                v=1,
                app=req.app,
                sid=sid,
                page=page,
                # Faro sends no send time: clock skew is corrected against its latest time.
                sent=max(times) if times else req.now,
                events=events,
                url=url,
                seq=view.seq,
                agent=f"{sdk.name or 'faro'} {sdk.version or ''}".strip() if sdk else "faro",
                env=Env(release=release),
            )
        ]


def _vital(view: _View, m: _Measurement) -> bool:
    """Add a web-vitals measurement to the view's vitals; whether something changed."""
    name = next((n for n in _VITALS if n in m.values), None)
    if name is None:
        return False
    value = m.values[name]
    if not math.isfinite(value) or value < 0:
        return False
    target = _TARGETS.get(name)
    phase = None
    if name == "inp":
        phase = {_INP_PHASES[k]: v for k, v in m.values.items() if k in _INP_PHASES}
    vital = Vital(
        id=m.context.get("id") or f"{name}-{view.navigation}",
        value=value,
        target=m.context.get(target) if target else None,
        phase=phase or None,
    )
    if view.vitals.get(name) == vital:
        return False
    view.vitals[name] = vital
    return True


def _error(exc: _Exception, url: str, action: str | None) -> Error:
    frames = [
        (f.function if f.function != "?" else "", strip_url(f.filename), f.lineno, f.colno)
        for f in (exc.stacktrace.frames if exc.stacktrace else [])
    ]
    top = frames[0] if frames else None
    when = _epoch_ms(exc.timestamp)
    return Error(
        id=stable_id("exc", when, exc.type, exc.value, top),
        type="js",
        time=when,
        message=exc.value or "(no message)",
        url=url,
        action=action,
        name=exc.type or None,
        stack=stack(frames),
        source=top[1] if top else None,
        line=top[2] if top and top[2] is not None and top[2] >= 0 else None,
        col=top[3] if top and top[3] is not None and top[3] >= 0 else None,
    )


def format_() -> Format:
    return Format(
        name="faro",
        methods=("POST",),
        media_types=(b"application/json", b"text/plain"),
        translate=Faro().translate,
        # The headers of Faro's fetch transport.
        allow_headers=(
            b"content-type, content-encoding, x-faro-session-id, x-api-key, idempotency-key"
        ),
    )
