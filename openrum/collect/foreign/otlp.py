"""OTLP/HTTP traces and logs (JSON or protobuf) from the OpenTelemetry web SDK → native beacons:
the document-load instrumentation's spans as the load action, a user interaction with the
fetch/XHR requests it started as an xhr action, failed requests and exception log records as
errors. docs/ingest.md#opentelemetry has the field map.

Protobuf bodies are read with the ``opentelemetry-proto`` schema and turned into the JSON
mapping's shape (hex ids, integer enums), so one translation serves both encodings.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import msgspec
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from openrum.collect.beacon import Action, Beacon, Drop, Error, Event, Vital, decode_json
from openrum.collect.foreign import Format, Request, stable_id, stack, strip_url

_PROTOBUF = b"application/x-protobuf"
_CLIENT = 3  # SpanKind.CLIENT
_STATUS_ERROR = 2
# Navigation Timing marks: the document-load span's events and its documentFetch child's.
_MARKS = (
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
)
_FRAME = re.compile(r"^\s*at (?:(.*?) \()?(.+?):(\d+):(\d+)\)?\s*$")


class _Value(msgspec.Struct, gc=False):
    stringValue: str | None = None
    intValue: int | str | None = None
    doubleValue: float | None = None
    boolValue: bool | None = None


class _KeyValue(msgspec.Struct, gc=False):
    key: str
    value: _Value = msgspec.field(default_factory=_Value)


class _Resource(msgspec.Struct, gc=False):
    attributes: list[_KeyValue] = []


class _SpanEvent(msgspec.Struct, gc=False):
    name: str
    timeUnixNano: int | str = 0


class _Status(msgspec.Struct, gc=False):
    code: int = 0


class _Span(msgspec.Struct, gc=False):
    name: str
    startTimeUnixNano: int | str
    endTimeUnixNano: int | str
    traceId: str = ""
    spanId: str = ""
    parentSpanId: str = ""
    kind: int = 0
    attributes: list[_KeyValue] = []
    events: list[_SpanEvent] = []
    status: _Status = msgspec.field(default_factory=_Status)


class _Scope(msgspec.Struct, gc=False):
    name: str = ""


class _ScopeSpans(msgspec.Struct, gc=False):
    scope: _Scope = msgspec.field(default_factory=_Scope)
    spans: list[_Span] = []


class _ResourceSpans(msgspec.Struct, gc=False):
    resource: _Resource = msgspec.field(default_factory=_Resource)
    scopeSpans: list[_ScopeSpans] = []


class _Traces(msgspec.Struct, gc=False):
    resourceSpans: list[_ResourceSpans] = []


class _LogRecord(msgspec.Struct, gc=False):
    timeUnixNano: int | str = 0
    observedTimeUnixNano: int | str = 0
    body: _Value = msgspec.field(default_factory=_Value)
    attributes: list[_KeyValue] = []


class _ScopeLogs(msgspec.Struct, gc=False):
    logRecords: list[_LogRecord] = []


class _ResourceLogs(msgspec.Struct, gc=False):
    resource: _Resource = msgspec.field(default_factory=_Resource)
    scopeLogs: list[_ScopeLogs] = []


class _Logs(msgspec.Struct, gc=False):
    resourceLogs: list[_ResourceLogs] = []


def _attrs(values: list[_KeyValue]) -> dict[str, str]:
    out = {}
    for kv in values:
        v = kv.value
        found: object = v.stringValue if v.stringValue is not None else v.intValue
        if found is None:
            found = v.doubleValue if v.doubleValue is not None else v.boolValue
        if found is not None:
            out[kv.key] = str(found)
    return out


def _ms(nanos: int | str) -> float:
    """Epoch ms of an OTLP time (nanoseconds; a string in the JSON mapping)."""
    value = int(nanos)
    if not 0 <= value < 2**63:
        raise ValueError(f"time out of range: {nanos!r}")
    return value / 1e6


def _decode(req: Request, schema: type[Any], proto: type[Message]) -> Any:
    """The request body as ``schema`` (the JSON mapping's shape), or a Drop."""
    if req.media_type == _PROTOBUF:
        try:
            message = proto.FromString(req.body)
        except (DecodeError, RuntimeError, ValueError) as e:
            return Drop("malformed_protobuf", detail=str(e))
        data = json_format.MessageToDict(message, use_integers_for_enums=True)
        _hex_ids(data)
        try:
            return msgspec.convert(data, schema)
        except msgspec.ValidationError as e:
            return Drop("invalid_field", detail=str(e))
    return decode_json(msgspec.json.Decoder(schema), req.body)


def _hex_ids(data: Any) -> None:
    """Trace and span ids as the JSON mapping writes them (hex), not base64 (protobuf's JSON)."""
    for rs in data.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()


def _session(resource: dict[str, str], first: dict[str, str], fallback: str) -> str:
    return resource.get("session.id") or first.get("session.id") or f"otel-{fallback}"


def _page_url(attributes: dict[str, str]) -> str:
    return strip_url(attributes.get("url.full") or attributes.get("http.url") or "")


def translate_traces(req: Request) -> list[Beacon] | Drop:
    found = _decode(req, _Traces, ExportTraceServiceRequest)
    if isinstance(found, Drop):
        return found
    try:
        return [b for rs in found.resourceSpans if (b := _traces(rs, req)) is not None]
    except ValueError as e:
        return Drop("malformed_field", detail=str(e))


def _traces(rs: _ResourceSpans, req: Request) -> Beacon | None:
    spans = [(ss.scope.name, span) for ss in rs.scopeSpans for span in ss.spans]
    if not spans:
        return None
    resource = _attrs(rs.resource.attributes)
    attrs = {id(span): _attrs(span.attributes) for _, span in spans}
    sid = _session(resource, attrs[id(spans[0][1])], spans[0][1].traceId)
    by_id = {span.spanId: span for _, span in spans}
    children: dict[str, list[_Span]] = {}
    for _, span in spans:
        children.setdefault(span.parentSpanId, []).append(span)
    url = ""
    events: list[Event] = []
    actions: dict[str, Action] = {}  # span id of an interaction → its xhr action
    for scope, span in spans:
        a = attrs[id(span)]
        if span.name == "documentLoad" and scope.endswith("document-load"):
            url = url or _page_url(a)
            fetch = [c for c in children.get(span.spanId, []) if c.name == "documentFetch"]
            events.append(_load(span, fetch, a))
        elif scope.endswith("user-interaction"):
            requests = [c for c in children.get(span.spanId, []) if c.kind == _CLIENT]
            if requests:  # an interaction without a request is not an action
                url = url or _page_url(a)
                action = _interaction(span, requests, a)
                actions[span.spanId] = action
                events.append(action)
    for scope, span in spans:
        if span.kind == _CLIENT and (scope.endswith("fetch") or scope.endswith("http-request")):
            parent = by_id.get(span.parentSpanId)
            owner = actions.get(parent.spanId) if parent else None
            error = _request_error(span, attrs[id(span)], owner)
            if error is not None:
                events.append(error)
    if not events:
        return None
    for event in events:
        if not event.url:
            event.url = url
    return _beacon(req, sid, url, events, resource)


def _beacon(
    req: Request, sid: str, url: str, events: list[Event], resource: dict[str, str]
) -> Beacon:
    """The native beacon of one page view's events: OpenTelemetry has no page-view id, so a
    page view is one URL of a session."""
    return Beacon(
        v=1,
        app=req.app,
        sid=sid,
        page=f"otel-{stable_id(sid, url)}",
        sent=int(max(_end(e) for e in events)),
        events=events,
        url=url,
        agent=_agent(resource),
    )


def _end(event: Event) -> float:
    if isinstance(event, Action):
        return event.start + (event.duration or 0)
    return float(event.time)


def _agent(resource: dict[str, str]) -> str:
    sdk = resource.get("telemetry.sdk.name", "opentelemetry")
    return f"{sdk} {resource.get('telemetry.sdk.version', '')}".strip()


def _load(span: _Span, fetch: list[_Span], a: dict[str, str]) -> Action:
    start = _ms(span.startTimeUnixNano)
    marks = {e.name: _ms(e.timeUnixNano) for s in (*fetch, span) for e in s.events}
    nt = {name: max(marks[name] - start, 0.0) for name in _MARKS if marks.get(name)}
    if not nt.get("secureConnectionStart"):  # 0: no TLS (the SDK sends the mark anyway)
        nt.pop("secureConnectionStart", None)
    vitals = {}
    if "firstContentfulPaint" in marks:
        fcp = Vital(id=f"fcp-{span.spanId}", value=max(marks["firstContentfulPaint"] - start, 0))
        vitals["fcp"] = fcp
    if "responseStart" in nt:
        vitals["ttfb"] = Vital(id=f"ttfb-{span.spanId}", value=nt["responseStart"])
    end = nt.get("loadEventEnd", _ms(span.endTimeUnixNano) - start)
    return Action(
        id=f"load-{span.spanId}",
        type="load",
        start=int(start),
        url=_page_url(a),
        duration=end,
        nt=nt or None,
        vitals=vitals,
    )


def _interaction(span: _Span, requests: list[_Span], a: dict[str, str]) -> Action:
    start = _ms(span.startTimeUnixNano)
    end = max(_ms(s.endTimeUnixNano) for s in (span, *requests))
    target = a.get("target_xpath") or a.get("target_element") or "element"
    name = f"{a.get('event_type', span.name)} on {target}"
    return Action(
        id=f"xhr-{span.spanId}",
        type="xhr",
        start=int(start),
        url=_page_url(a),
        name=name,
        trigger=name,
        duration=end - start,
        requests=len(requests),
    )


def _request_error(span: _Span, a: dict[str, str], action: Action | None) -> Error | None:
    code = a.get("http.response.status_code") or a.get("http.status_code") or ""
    status = int(code) if code.isdigit() and 400 <= int(code) <= 599 else None
    if status is None and (span.status.code != _STATUS_ERROR or code.isdigit()):
        return None
    source = strip_url(a.get("url.full") or a.get("http.url") or "")
    start = _ms(span.startTimeUnixNano)
    return Error(
        id=f"req-{span.spanId}",
        type="request",
        time=int(start),
        message=f"HTTP {status} {source}" if status else f"network error {source}",
        action=action.id if action else None,
        source=source,
        status=status,
    )


def translate_logs(req: Request) -> list[Beacon] | Drop:
    found = _decode(req, _Logs, ExportLogsServiceRequest)
    if isinstance(found, Drop):
        return found
    try:
        return [b for rl in found.resourceLogs if (b := _logs(rl, req)) is not None]
    except ValueError as e:
        return Drop("malformed_field", detail=str(e))


def _logs(rl: _ResourceLogs, req: Request) -> Beacon | None:
    """Log records with the semantic conventions' exception attributes are errors; the others
    are not mapped."""
    resource = _attrs(rl.resource.attributes)
    events: list[Event] = []
    url = ""
    sid = ""
    for record in (r for sl in rl.scopeLogs for r in sl.logRecords):
        a = _attrs(record.attributes)
        if "exception.type" not in a and "exception.message" not in a:
            continue
        when = _ms(record.timeUnixNano) or _ms(record.observedTimeUnixNano)
        sid = sid or _session(resource, a, stable_id(when))
        url = url or _page_url(a)
        frames: list[tuple[str, str, int | None, int | None]] = []
        for line in a.get("exception.stacktrace", "").splitlines():
            m = _FRAME.match(line)
            if m:
                fn, file, row, col = m.groups()
                frames.append((fn or "", strip_url(file), int(row), int(col)))
        top = frames[0] if frames else None
        message = a.get("exception.message") or record.body.stringValue or "(no message)"
        name = a.get("exception.type") or None
        events.append(
            Error(
                id=stable_id("log", when, name, message, top),
                type="js",
                time=int(when),
                message=message,
                url=_page_url(a),
                name=name,
                stack=stack(frames),
                source=top[1] if top else None,
                line=top[2] if top else None,
                col=top[3] if top else None,
            )
        )
    if not events:
        return None
    return _beacon(req, sid, url, events, resource)


def _ok_body(media_type: bytes) -> bytes:
    """An empty Export…ServiceResponse: ``{}`` in JSON, no bytes in protobuf."""
    return b"" if media_type == _PROTOBUF else b"{}"


_MEDIA = (b"application/json", _PROTOBUF)
TRACES = Format("otlp/v1/traces", ("POST",), _MEDIA, translate_traces, ok=200, ok_body=_ok_body)
LOGS = Format("otlp/v1/logs", ("POST",), _MEDIA, translate_logs, ok=200, ok_body=_ok_body)
