"""Beacon protocol v1: the typed shape of what the agent sends (docs/protocol.md).

Decoding is pure and bounded: the body size is checked before this runs, the schema is fixed
(free-form maps are flat), and every failure becomes a ``Drop`` with a reason, never an exception.
The structs are not tracked by the garbage collector (``gc=False``: a decoded beacon holds no
reference cycle), so a batch of thousands of them costs no collector passes in the batch step.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

import msgspec

PROTOCOL_VERSION = 1

# JSON numbers the browser can produce exactly (Number.MAX_SAFE_INTEGER); larger integers are
# rejected by the decoder instead of arriving as arbitrary-precision Python ints.
SafeInt = Annotated[int, msgspec.Meta(ge=-(2**53), le=2**53)]
Count = Annotated[int, msgspec.Meta(ge=0, le=2**53)]
# A W3C Trace Context trace id: 32 lowercase hex digits (a link target: nothing else gets through).
TraceId = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{32}$")]


class Brand(msgspec.Struct, forbid_unknown_fields=False, gc=False):
    """One entry of NavigatorUAData's ``brands`` or ``fullVersionList``."""

    brand: str = ""
    version: str = ""


class ClientHints(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=False, gc=False):
    """User-Agent Client Hints: what navigator.userAgentData.getHighEntropyValues answers, as
    the agent (1.2 on) sends it, or as earlier agents did (``brands`` as ``Brand/version``
    strings, ``platform_version``)."""

    brands: list[str | Brand] = []
    fullVersionList: list[Brand] = []
    mobile: bool | None = None
    platform: str | None = None
    platform_version: str | None = None
    platformVersion: str | None = None
    model: str | None = None

    def brand_versions(self) -> list[str]:
        """``Brand/version`` of each brand, their full versions where the browser gave them."""
        found = self.fullVersionList or self.brands
        return [b if isinstance(b, str) else f"{b.brand}/{b.version}" for b in found]


class Env(msgspec.Struct, omit_defaults=True, gc=False):
    """The browser environment, sent once per beacon."""

    vw: Count | None = None  # viewport width, CSS px
    vh: Count | None = None
    sw: Count | None = None  # screen width, CSS px
    sh: Count | None = None
    dpr: float | None = None
    mem: float | None = None  # navigator.deviceMemory, GiB
    conn: str | None = None  # navigator.connection.effectiveType
    save_data: bool | None = None
    release: str | None = None  # the release the site declares
    uach: ClientHints | None = None


class Vital(msgspec.Struct, omit_defaults=True, gc=False):
    """One Web Vitals metric instance; ``id`` is stable across re-reports of the same instance."""

    id: str
    value: float
    target: str | None = None  # attribution: LCP element, INP target, largest shift source
    phase: dict[str, float] | None = None  # attribution: INP phases, LCP sub-parts


class Action(msgspec.Struct, tag_field="kind", tag="action", omit_defaults=True, gc=False):
    """A user action: a page load, an xhr action, an SPA route change or a custom action."""

    id: str
    type: Literal["load", "xhr", "route_change", "custom"]
    start: SafeInt  # client clock, epoch ms
    url: str
    name: str = ""
    trigger: str | None = None  # name of the user input that started it (`click on "Docs"`)
    duration: float | None = None  # ms
    # Navigation Timing (load) or the route change's own timing: W3C attribute names, in ms since
    # the action's start.
    nt: dict[str, float] | None = None
    vitals: dict[str, Vital] = {}  # keys: lcp, cls, inp, fcp, ttfb, fid
    long_tasks: Count = 0
    long_task_ms: float = 0.0
    requests: Count = 0  # fetch/XHR requests that belong to the action
    trace: TraceId | None = None  # the backend trace of its requests (their traceparent)


class Error(msgspec.Struct, tag_field="kind", tag="error", omit_defaults=True, gc=False):
    """A JavaScript, request, CSP, resource or custom error."""

    id: str
    type: Literal["js", "request", "csp", "resource", "custom"]
    time: SafeInt  # client clock, epoch ms
    message: str
    url: str = ""  # the page's URL
    action: str | None = None  # id of the action the error happened in
    name: str | None = None  # error class (TypeError, ...)
    stack: str | None = None
    source: str | None = None  # script or request URL
    line: Count | None = None
    col: Count | None = None
    status: Count | None = None  # HTTP status of a failed request
    count: Annotated[int, msgspec.Meta(ge=1, le=2**31)] = 1  # repeats folded by the agent
    trace: TraceId | None = None  # a failed request's backend trace (its traceparent)


class UserEvent(msgspec.Struct, tag_field="kind", tag="user", omit_defaults=True, gc=False):
    """A user event: rage click, page change, user tag, session end, custom property."""

    id: str
    type: Literal["rage_click", "page_change", "user_tag", "session_end", "property"]
    time: SafeInt
    url: str = ""
    action: str | None = None
    value: str | None = None  # user tag, property value, target of a rage click
    x: float | None = None
    y: float | None = None
    count: Count | None = None  # clicks in a rage click


# Diagnostics (docs/protocol.md ``kind: "diag"``): sent by the diagnostics module, bounded here
# so that a decoded beacon stays small; the module never sends more.
MAX_DIAG_SCRIPTS = 20
MAX_DIAG_INTERACTIONS = 10
MAX_DIAG_RESOURCES = 100
MAX_DIAG_ORIGINS = 100
Ms = Annotated[float, msgspec.Meta(ge=0, le=2**53)]


class Script(msgspec.Struct, omit_defaults=True, gc=False):
    """A script in a long animation frame (or a long task where LoAF is missing)."""

    inv_type: str  # invokerType: event-listener, user-callback, classic-script, …; long-task
    start: Ms  # ms since the time origin
    dur: Ms
    src: str | None = None  # sourceURL (query string dropped)
    fn: str | None = None  # sourceFunctionName
    inv: str | None = None  # invoker: `BUTTON#buy.onclick`, `TimerHandler:setTimeout`, …
    fsl: Ms | None = None  # forcedStyleAndLayoutDuration


class Interaction(msgspec.Struct, omit_defaults=True, gc=False):
    """A slow interaction (or the INP candidate) and the scripts of the frames it overlaps."""

    start: Ms
    dur: Ms
    type: str | None = None  # the event: pointerdown, click, keydown, …
    target: str | None = None
    inp: bool = False  # the longest interaction of the page when sent: the INP candidate
    scripts: Annotated[list[Script], msgspec.Meta(max_length=MAX_DIAG_SCRIPTS)] = []


class Resource(msgspec.Struct, omit_defaults=True, gc=False):
    """A resource of the load waterfall (or the navigation itself): Resource Timing phases."""

    url: str
    type: str  # initiatorType; navigation
    start: Ms
    dur: Ms
    dns: Ms | None = None
    connect: Ms | None = None
    tls: Ms | None = None
    req: Ms | None = None  # responseStart − requestStart
    res: Ms | None = None  # responseEnd − responseStart
    size: Count | None = None  # transferSize
    body: Count | None = None  # encodedBodySize
    cache: Literal["hit", "revalidated", "network"] | None = None
    blocking: bool = False  # renderBlockingStatus == "blocking"
    lcp: bool = False  # the LCP element's resource


class OriginTotal(msgspec.Struct, omit_defaults=True, gc=False):
    """The resources of one origin not sent one by one."""

    origin: str
    count: Count
    size: Count = 0
    dur: Ms = 0.0


class Diag(msgspec.Struct, tag_field="kind", tag="diag", omit_defaults=True, gc=False):
    """What the diagnostics module measured (docs/agent.md "Diagnostics")."""

    id: str
    type: Literal["diag"]
    time: SafeInt
    url: str = ""
    t0: SafeInt | None = None  # the page's time origin (performance.timeOrigin), client clock
    interactions: Annotated[list[Interaction], msgspec.Meta(max_length=MAX_DIAG_INTERACTIONS)] = []
    scripts: Annotated[list[Script], msgspec.Meta(max_length=MAX_DIAG_SCRIPTS)] = []
    resources: Annotated[list[Resource], msgspec.Meta(max_length=MAX_DIAG_RESOURCES)] = []
    origins: Annotated[list[OriginTotal], msgspec.Meta(max_length=MAX_DIAG_ORIGINS)] = []


Event = Action | Error | UserEvent | Diag


class Beacon(msgspec.Struct, omit_defaults=True, gc=False):
    """One beacon: an envelope and a list of events."""

    v: int
    app: str
    sid: str  # session id, chosen by the agent
    page: str  # page view id (one per document)
    sent: SafeInt  # client clock at send, epoch ms: corrects client clock skew
    events: list[Event]
    url: str = ""  # the page's URL when sent: the URL of events that carry none
    seq: Count = 0  # beacon sequence number within the session
    agent: str = ""  # agent version
    view: str | None = None  # SPA view id, when the route changed
    visitor: str | None = None  # persistent visitor id, only when the app enables user tracking
    weight: Annotated[float, msgspec.Meta(ge=1.0, le=1_000_000.0)] = 1.0  # 100 / sampling %
    env: Env = msgspec.field(default_factory=Env)


_decoder = msgspec.json.Decoder(Beacon)


T = TypeVar("T")


class Drop(msgspec.Struct, frozen=True):
    """A rejected beacon or event: the reason is a short token, counted and sent back."""

    reason: str
    status: int = 400
    detail: str = ""


def decode_json(decoder: msgspec.json.Decoder[T], body: bytes) -> T | Drop:
    """``body`` decoded by ``decoder``, or the Drop naming why not: the reasons every JSON ingest
    endpoint counts."""
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as e:
        return Drop("invalid_field", detail=str(e))
    except msgspec.DecodeError as e:
        return Drop("malformed_json", detail=str(e))
    except RecursionError:
        return Drop("too_deep", detail="JSON nested too deeply")
    except UnicodeDecodeError as e:  # msgspec raises it for invalid UTF-8 inside a string
        return Drop("invalid_utf8", detail=str(e))


def decode(body: bytes, max_events: int) -> Beacon | Drop:
    """Decode and check one beacon body; return the beacon or a ``Drop`` naming why not."""
    try:
        # msgspec checks UTF-8 inside the strings it keeps; a body must be UTF-8 throughout
        # (unknown fields are skipped, not checked) before the batch step reads it as text.
        body.decode()
    except UnicodeDecodeError as e:
        return Drop("invalid_utf8", detail=str(e))
    beacon = decode_json(_decoder, body)
    if isinstance(beacon, Drop):
        return beacon
    if beacon.v != PROTOCOL_VERSION:
        return Drop("unsupported_version", detail=f"protocol v{beacon.v}; this collector speaks v1")
    if len(beacon.events) > max_events:
        return Drop("too_many_events", detail=f"{len(beacon.events)} events > {max_events}")
    if not beacon.events:
        return Drop("no_events")
    return beacon
