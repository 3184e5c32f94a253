"""The columns of every table the batch step fills, one struct per table, and the Batch.

Every row struct carries the dimension columns of ``Dims`` (first) and its own. Stores insert by
column name. Times are UTC timestamps (ms), measures milliseconds except CLS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import msgspec
import pyarrow as pa


class Dims(msgspec.Struct):
    """Dimensions shared by every row of one beacon (environment and enrichment)."""

    browser: str | None = None
    browser_version: str | None = None
    os: str | None = None
    os_version: str | None = None
    device: str | None = None
    user_type: str | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None
    lat: float | None = None
    lon: float | None = None
    connection: str | None = None
    release: str | None = None


class ActionRow(Dims, kw_only=True):
    eid: int  # 64-bit key of (app, session, page view, event id): a re-sent event is stored once
    app: str
    time: int  # action start, epoch ms
    received: int
    session_id: str
    page_view_id: str
    seq: int
    event_id: str
    action_type: str
    action_name: str
    url: str
    page: str
    duration: float | None = None
    lcp: float | None = None
    cls: float | None = None
    inp: float | None = None
    fcp: float | None = None
    ttfb: float | None = None
    fid: float | None = None
    lcp_target: str | None = None
    inp_target: str | None = None
    cls_target: str | None = None
    inp_input_delay: float | None = None
    inp_processing: float | None = None
    inp_presentation: float | None = None
    redirect: float | None = None
    dns: float | None = None
    tcp: float | None = None
    tls: float | None = None
    request: float | None = None
    response: float | None = None
    dom_processing: float | None = None
    dom_interactive: float | None = None
    dom_content_loaded: float | None = None
    dom_complete: float | None = None
    load_event_end: float | None = None
    server_time: float | None = None
    network_time: float | None = None
    frontend_time: float | None = None
    long_tasks: int = 0
    long_task_ms: float = 0.0
    requests: int = 0
    errors: int = 0
    apdex: str | None = None  # S, T or F
    weight: float = 1.0
    agent_version: str = ""
    trigger: str | None = None  # the input that started the action (a route change's click)
    trace_id: str | None = None  # the backend trace of its requests (W3C traceparent)


class ErrorRow(Dims, kw_only=True):
    eid: int
    app: str
    time: int
    received: int
    session_id: str
    page_view_id: str
    event_id: str
    action_event_id: str | None
    error_type: str
    error_name: str | None
    message: str
    fingerprint: str
    stack: str | None
    source: str | None
    line: int | None
    col: int | None
    status: int | None
    count: int
    url: str
    page: str
    agent_version: str = ""
    weight: float = 1.0  # the session's sampling weight: errors are counted as estimates
    trace_id: str | None = None  # a failed request's backend trace (W3C traceparent)


class UserEventRow(Dims, kw_only=True):
    eid: int
    app: str
    time: int
    received: int
    session_id: str
    page_view_id: str
    event_id: str
    action_event_id: str | None
    event_type: str
    value: str | None
    x: float | None
    y: float | None
    count: int | None
    url: str
    page: str


class DiagRow(Dims, kw_only=True):
    """One item of a diagnostics event (docs/agent.md "Diagnostics"): a slow interaction, a
    script of a long animation frame (in an interaction or not), a resource of the load
    waterfall (or the navigation), or the totals of one origin's other resources."""

    eid: int
    app: str
    time: int  # the item's start, epoch ms
    received: int
    session_id: str
    page_view_id: str
    event_id: str  # the diag event's id
    kind: str  # interaction, script, resource, origin
    url: str
    page: str
    item: str | None = None  # script source or resource URL (masked), the origin of totals
    origin: str | None = None  # scheme://host[:port] of the item
    party: str | None = None  # first, third (the app's origins and the page's are first party)
    provider: str | None = None  # known third party (third-party-web), by the item's host
    category: str | None = None  # the provider's category: ad, analytics, cdn, tag-manager, …
    interaction: str | None = None  # the interaction's target element (its scripts' too)
    interaction_type: str | None = None  # pointerdown, click, keydown, …
    interaction_ms: float | None = None  # the interaction's duration (its scripts' too)
    inp: bool = False  # the page's longest interaction when sent (the INP candidate)
    function_name: str | None = None
    invoker: str | None = None
    invoker_type: str | None = None  # event-listener, user-callback, classic-script, long-task, …
    start_ms: float | None = None  # ms since the page's time origin
    duration: float | None = None
    style_layout: float | None = None  # forced style and layout, ms
    dns: float | None = None
    connect: float | None = None
    tls: float | None = None
    request: float | None = None
    response: float | None = None
    transfer_size: int | None = None
    body_size: int | None = None
    cache: str | None = None  # hit, revalidated, network
    initiator: str | None = None  # initiatorType; navigation
    render_blocking: bool = False
    lcp: bool = False
    count: int | None = None  # resources in an origin's totals
    weight: float = 1.0
    agent_version: str = ""


class SessionTouch(Dims, kw_only=True):
    """What one batch knows of a session; the store merges touches idempotently (min/max)."""

    app: str
    session_id: str
    start: int
    last_seen: int
    last_received: int
    entry_page: str
    exit_page: str
    weight: float = 1.0
    visitor_id: str | None = None
    user_tag: str | None = None
    ended: bool = False  # the agent sent an explicit end


class ClosedSession(msgspec.Struct, kw_only=True):
    """What the session closer writes once, when a session ends (openrum/sessions.py).

    Every value is computed from stored events only, so two closers computing the same session
    write the same row (idempotent).
    """

    app: str
    session_id: str
    end_reason: str  # end, inactivity, max_duration, max_actions
    duration: float | None  # ms: end of the last action - start of the first
    actions: int
    errors: int
    rage_clicks: int
    bounce: bool  # one action or fewer
    ux_score: str | None  # satisfying, tolerable, frustrating


@dataclass
class Batch:
    """Everything one flush writes: an Arrow table per table, columns as the structs above."""

    actions: pa.Table | None = None
    errors: pa.Table | None = None
    user_events: pa.Table | None = None
    sessions: pa.Table | None = None
    diagnostics: pa.Table | None = None

    def tables(self) -> dict[str, pa.Table]:
        """The non-empty tables by name."""
        return {
            name: t
            for name, t in (
                ("actions", self.actions),
                ("errors", self.errors),
                ("user_events", self.user_events),
                ("sessions", self.sessions),
                ("diagnostics", self.diagnostics),
            )
            if t is not None and t.num_rows
        }

    @classmethod
    def concat(cls, parts: Sequence[Batch]) -> Batch:
        """One batch holding the rows of ``parts``, in order."""

        def joined(name: str) -> pa.Table | None:
            tables = [t for p in parts if (t := getattr(p, name)) is not None]
            return pa.concat_tables(tables) if len(tables) > 1 else next(iter(tables), None)

        return cls(**{f.name: joined(f.name) for f in fields(cls)})

    def __len__(self) -> int:
        """Events (actions, errors, user events) in the batch."""
        return sum(
            t.num_rows for t in (self.actions, self.errors, self.user_events) if t is not None
        )
