"""Boomerang's beacon (GET query string or POST form) → a native beacon: the page load beacon
(and Boomerang's SPA navigations) as load and route change actions, its XHR beacons as xhr
actions, the Errors plugin's ``err`` as errors. docs/ingest.md#boomerang has the field map."""

from __future__ import annotations

import math
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from openrum.collect.beacon import Action, Beacon, Drop, Error, Event, Vital
from openrum.collect.foreign import Format, Request, jsurl, stable_id, stack, strip_url

# Navigation Timing parameters (epoch ms) → the native `nt` names (ms since navigation start).
_NT = {
    "nt_red_st": "redirectStart",
    "nt_red_end": "redirectEnd",
    "nt_fet_st": "fetchStart",
    "nt_dns_st": "domainLookupStart",
    "nt_dns_end": "domainLookupEnd",
    "nt_con_st": "connectStart",
    "nt_ssl_st": "secureConnectionStart",
    "nt_con_end": "connectEnd",
    "nt_req_st": "requestStart",
    "nt_res_st": "responseStart",
    "nt_res_end": "responseEnd",
    "nt_domint": "domInteractive",
    "nt_domcontloaded_end": "domContentLoadedEventEnd",
    "nt_domcomp": "domComplete",
    "nt_load_st": "loadEventStart",
    "nt_load_end": "loadEventEnd",
}
# Vitals: (native name, value parameter, attribution parameter).
_VITALS = (
    ("lcp", "pt.lcp", "pt.lcp.e"),
    ("fcp", "pt.fcp", None),
    ("cls", "c.cls", "c.cls.topid"),
    ("inp", "et.inp", "et.inp.e"),
)
# The Errors plugin's `v` (how the error was found): 1 the app's BOOMR.plugins.Errors.send,
# 3 a failed XHR/fetch; the others (global handler, console, event handler, timer, rejection,
# reporting API) are the page's JavaScript errors.
_VIA_APP, _VIA_NETWORK = 1, 3
_SOURCE_BOOMERANG = 2
_MAX_FIELDS = 1000


def _number(params: dict[str, str], name: str) -> float | None:
    try:
        value = float(params[name])
    except (KeyError, ValueError):
        return None
    return value if math.isfinite(value) and abs(value) < 2**53 else None


def translate(req: Request) -> list[Beacon] | Drop:
    try:
        text = req.body.decode()
    except UnicodeDecodeError as e:
        return Drop("invalid_utf8", detail=str(e))
    try:
        params = dict(parse_qsl(text, keep_blank_values=True, max_num_fields=_MAX_FIELDS))
    except ValueError as e:
        return Drop("malformed_form", detail=str(e))
    page = params.get("pid", "")
    if not page:
        return Drop("missing_field", detail="no pid (page id) parameter")
    url = params.get("pgu") or params.get("u") or ""
    events: list[Event] = []
    action = _action(params, page, url)
    if action is not None:
        events.append(action)
    errors = params.get("err")
    if errors:
        found = _errors(errors, url, action.id if action else None)
        if isinstance(found, Drop):
            return found
        events += found
    elif action is not None and action.type == "xhr":
        events += _request_error(params, action)
    if not events:
        return []  # an unload or a custom-timer beacon: nothing OpenRUM stores
    # The client's clock when it sent: Boomerang sends none, so the latest time the beacon
    # holds (a late error's time can be after ``rt.end``, the end of the last timer).
    sent = max([_number(params, "rt.end") or 0, *(_last(e) for e in events)])
    return [
        Beacon(
            v=1,
            app=req.app,
            sid=params.get("rt.si") or f"bmr-{page}",
            page=page,
            sent=int(sent) or req.now,
            events=events,
            url=strip_url(url),
            seq=int(_number(params, "n") or 0),
            agent=f"boomerang {params.get('v', '')}".strip(),
        )
    ]


def _last(event: Event) -> float:
    if isinstance(event, Action):
        return event.start + (event.duration or 0)
    return float(event.time)


def _action(params: dict[str, str], page: str, url: str) -> Action | None:
    """The beacon's action: a page load (no ``http.initiator``; ``spa_hard``), a route change
    (``spa``) or an xhr action (``xhr``); None for other beacons (unload, error, custom)."""
    if "rt.quit" in params:
        return None
    initiator = params.get("http.initiator", "")
    duration = _number(params, "t_done")
    if initiator in ("", "spa_hard"):
        start = _number(params, "nt_nav_st") or _number(params, "rt.tstart")
        if start is None or duration is None:
            return None
        nt = {}
        for name, key in _NT.items():
            at = _number(params, name)
            if at:  # 0: did not happen (no redirect, no TLS)
                nt[key] = max(at - start, 0.0)
        vitals = {}
        for name, key, target in _VITALS:
            value = _number(params, key)
            if value is not None and value >= 0:
                element = params.get(target) if target else None
                vitals[name] = Vital(id=f"{page}-{name}", value=value, target=element or None)
        if "responseStart" in nt:
            vitals["ttfb"] = Vital(id=f"{page}-ttfb", value=nt["responseStart"])
        return Action(
            id="load",
            type="load",
            start=int(start),
            url=strip_url(url),
            duration=duration,
            nt=nt or None,
            vitals=vitals,
            long_tasks=int(_number(params, "c.lt.n") or 0),
            long_task_ms=_number(params, "c.lt.tt") or 0.0,
        )
    if initiator not in ("spa", "xhr"):
        return None
    start = _number(params, "rt.tstart")
    if start is None or duration is None:
        return None
    kind: Literal["route_change", "xhr"] = "route_change" if initiator == "spa" else "xhr"
    return Action(
        id=stable_id(kind, int(start), params.get("u", "")),
        type=kind,
        start=int(start),
        url=strip_url(url),
        duration=duration,
        requests=1 if kind == "xhr" else 0,
    )


def _request_error(params: dict[str, str], action: Action) -> list[Event]:
    """An XHR beacon's failure (``http.errno``) when the Errors plugin sent no ``err``."""
    errno = _number(params, "http.errno")
    if errno is None or 0 < errno < 400:
        return []
    source = strip_url(params.get("u", ""))
    status = int(errno) if errno >= 400 else None
    message = f"HTTP {status} {source}" if status else f"network error {source}"
    error = Error(
        id=stable_id("req", action.start, source),
        type="request",
        time=action.start,
        message=message,
        url=action.url,
        action=action.id,
        source=source,
        status=status,
    )
    return [error]


def _errors(value: str, url: str, action: str | None) -> list[Event] | Drop:
    """The Errors plugin's compressed errors (JSURL, or JSON without the Compression plugin)."""
    try:
        found: Any = jsurl.decode(value) if value.startswith("~") else _json(value)
    except ValueError as e:
        return Drop("malformed_field", detail=f"err: {e}")
    if not isinstance(found, list):
        return Drop("malformed_field", detail="err: not a list")
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    events: list[Event] = []
    for item in found:
        if not isinstance(item, dict) or item.get("s") == _SOURCE_BOOMERANG:
            continue  # Boomerang's own errors are not the site's
        try:
            events.append(_error(item, url, origin, action))
        except (TypeError, ValueError) as e:
            return Drop("malformed_field", detail=f"err: {e}")
    return events


def _json(value: str) -> Any:
    import json

    try:
        return json.loads(value)
    except (json.JSONDecodeError, RecursionError) as e:
        raise ValueError(str(e)) from e


def _error(item: dict[str, Any], url: str, origin: str, action: str | None) -> Error:
    via = int(item.get("v") or _VIA_APP)
    message = str(item.get("m") or "")
    when = int(str(item.get("d") or "0"), 36)
    frames = []
    for frame in item.get("f") or []:
        if isinstance(frame, dict):
            file = str(frame.get("w") or (origin + str(frame.get("wo") or "")))
            line, col = frame.get("l"), frame.get("c")
            frames.append((str(frame.get("f") or ""), strip_url(file), _int(line), _int(col)))
    top = frames[0] if frames else None
    count = max(1, min(int(item.get("n") or 1), 2**31))
    if via == _VIA_NETWORK:
        code = _int(item.get("c"))
        status = code if code and code >= 400 else None
        source = strip_url(message)
        text = f"HTTP {status} {source}" if status else f"network error {source}"
        return Error(
            id=stable_id("err", when, via, message),
            type="request",
            time=when,
            message=text,
            url=strip_url(url),
            action=action,
            source=source,
            status=status,
            count=count,
        )
    return Error(
        id=stable_id("err", when, via, message, top),
        type="custom" if via == _VIA_APP else "js",
        time=when,
        message=message or "(no message)",
        url=strip_url(url),
        action=action,
        name=str(item.get("t") or "Error"),
        stack=stack(frames),
        source=top[1] if top else None,
        line=top[2] if top else None,
        col=top[3] if top else None,
        count=count,
    )


def _int(value: Any) -> int | None:
    if isinstance(value, (int, float)) and math.isfinite(value) and 0 <= value < 2**53:
        return int(value)
    return None


FORMAT = Format(
    name="boomerang",
    methods=("GET", "POST"),
    media_types=(b"application/x-www-form-urlencoded", b"text/plain"),
    translate=translate,
)
