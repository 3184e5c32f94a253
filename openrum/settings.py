"""One table of settings: name, type, default and help drive the CLI, the docs and validation.

Every number OpenRUM uses is a setting. Set one with ``openrum serve --setting NAME VALUE`` or the
environment variable ``OPENRUM_NAME``; docs/settings.md is generated from this table and a test
checks that it is current.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

# What keep_fragment may be (openrum/enrich/urls.py).
FRAGMENT_MODES = ("routes", "all", "none")
_LEGACY_FRAGMENT_MODES = {"true": "all", "1": "all", "false": "none", "0": "none"}


def _s(default: Any, help: str) -> Any:
    return dataclasses.field(default=default, metadata={"help": help})


def _list(default: list[str], help: str) -> Any:
    return dataclasses.field(default_factory=lambda: list(default), metadata={"help": help})


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every tunable of OpenRUM, with its default."""

    # Ingest limits (checked in the request)
    max_body_bytes: int = _s(65_536, "Largest accepted beacon body in bytes (413 above).")
    max_events_per_beacon: int = _s(200, "Most events one beacon may carry (400 above).")
    max_decompressed_bytes: int = _s(
        262_144, "Largest body after gzip/deflate decompression (413 above)."
    )
    body_timeout_s: float = _s(10.0, "A client that takes longer to send its body gets 408.")
    rate_limit_ip_per_s: float = _s(
        50.0,
        "Beacons per second one connecting address may send (429 above; 0 = off). Behind a "
        "proxy every client shares the proxy's address: raise it or turn it off there.",
    )
    rate_limit_ip_burst: float = _s(200.0, "Beacons one address may send in a burst.")
    rate_limit_app_per_s: float = _s(0.0, "Beacons per second per application (0 = off).")
    rate_limit_app_burst: float = _s(10_000.0, "Beacons one application may send in a burst.")
    shutdown_timeout_s: float = _s(
        20.0, "On SIGTERM, how long to keep storing spooled beacons before exiting."
    )
    spool_max_bytes: int = _s(
        1 << 30, "Spooled bytes not yet stored before the collector answers 503 (1 GiB)."
    )
    spool_segment_bytes: int = _s(4 << 20, "Size at which the spool starts a new segment file.")
    # Source maps (docs/errors.md)
    sourcemaps_dir: str = _s(
        "",
        "Where uploaded source maps are kept (empty: the sourcemaps folder of the data directory).",
    )
    sourcemap_max_file_bytes: int = _s(
        50 << 20, "Largest source map or minified file an upload may hold (50 MiB)."
    )
    sourcemap_max_app_bytes: int = _s(
        1 << 30, "Most bytes of source maps one application may keep, every release (1 GiB)."
    )
    sourcemap_max_request_bytes: int = _s(
        200 << 20,
        "Largest upload request (200 MiB, read into memory): a bigger build goes in several "
        "requests, each adding files to the release.",
    )
    sourcemap_cache_size: int = _s(
        64, "Parsed source maps kept in memory, per process (least recently used first out)."
    )
    sourcemap_fetch_timeout_s: float = _s(
        5.0,
        "Time limit of each download when an application fetches its source maps from its own "
        "origins (its config's `sourcemap_fetch`, off by default).",
    )
    trace_url: str = _s(
        "",
        "Backend traces (docs/errors.md): a URL template with `{trace_id}`, e.g. a Jaeger or "
        "Grafana Tempo trace page; the dashboard links an action and a request error the agent "
        "traced to it (empty: no links).",
    )
    # Ingest limits (applied in the batch step: values are truncated or cleared, and counted)
    max_url_length: int = _s(2048, "URLs longer than this are truncated.")
    max_name_length: int = _s(512, "Action names, titles and user tags longer than this are cut.")
    max_message_length: int = _s(1024, "Error messages longer than this are truncated.")
    max_stack_length: int = _s(8192, "Stack traces longer than this are truncated.")
    max_timing_ms: float = _s(3_600_000.0, "Timings outside 0..this (ms) are cleared.")
    max_cls: float = _s(100.0, "CLS values outside 0..this are cleared.")
    max_action_duration_ms: float = _s(180_000.0, "Action durations are capped at this (3 min).")
    max_event_age_ms: int = _s(
        7 * 86_400_000, "Events that started longer ago than this (after skew correction) drop."
    )
    max_future_ms: int = _s(300_000, "Events stamped later than now plus this are dropped.")
    # Batch writer
    flush_interval_s: float = _s(1.0, "Longest wait before spooled beacons are written (<= 1 s).")
    write_max_events: int = _s(
        50_000,
        "Events per store write at most: a backlog is read, enriched and written in batches of "
        "this size (larger batches cost the store less per event, and take more memory).",
    )
    batch_step_chunk_beacons: int = _s(
        2_000,
        "The batch step enriches a batch this many beacons at a time (a session's beacons "
        "together): its memory grows with this, not with write_max_events.",
    )
    start_paused: bool = _s(
        False,
        "Start with store writes paused, as after SIGUSR1 (SIGUSR2 resumes): what the spool "
        "holds from before, and what arrives, is stored on resume (docs/operations.md).",
    )
    health_write_failure_s: float = _s(
        60.0,
        "GET /healthz answers 503 once store writes have failed for this long, so that a "
        "supervisor restarts the server (the spool keeps what is accepted).",
    )
    batch_step_start_s: float = _s(120.0, "Longest wait for the batch step process to start.")
    rest_after_s: float = _s(
        60.0,
        "After this many seconds without a batch to write, the server rests: the batch step "
        "process stops (the next batch starts it again, in about a second) and the embedded "
        "store gives back the memory of the blocks it cached. 0: never.",
    )
    background_nice: int = _s(
        10,
        "Niceness of background work: the batch step process, the writer thread and the embedded "
        "database's worker threads (requests come first).",
    )
    background_idle: bool = _s(
        True,
        "Run background work (as for background_nice) in the idle scheduling class (Linux's "
        "SCHED_IDLE): only on CPU time requests do not want. Under a load that takes every core "
        "the spool holds the backlog, and it is stored when the load eases.",
    )
    switch_interval_ms: float = _s(
        0.5,
        "How long a thread may hold Python's interpreter lock while another waits for it (Python's "
        "default is 5 ms): the event loop waits at most this long for a background thread.",
    )
    # Scoring defaults (per action type; applications may override)
    apdex_load_t_ms: float = _s(3000.0, "Apdex T for load and custom actions (ms).")
    apdex_load_f_ms: float = _s(12000.0, "Apdex F for load and custom actions (ms).")
    apdex_xhr_t_ms: float = _s(2500.0, "Apdex T for xhr and route_change actions (ms).")
    apdex_xhr_f_ms: float = _s(10000.0, "Apdex F for xhr and route_change actions (ms).")
    apdex_error_frustrates: bool = _s(True, "An action with an error counts as frustrated.")
    route_changes_are_page_views: bool = _s(True, "Route changes count as page views.")
    ip_mask_level: int = _s(
        1, "Client address masking: 0 none, 1 IPv4 last octet / IPv6 last 80 bits, 2 two octets."
    )
    # Enrichment (the batch step; applications may override in their config: docs/enrichment.md)
    trusted_proxies: list[str] = _list(  # noqa: RUF009 -- a default_factory
        [],
        "Addresses or CIDR networks of reverse proxies in front of OpenRUM. Only requests from "
        "these peers have their client address read from client_ip_headers.",
    )
    client_ip_headers: list[str] = _list(  # noqa: RUF009 -- a default_factory
        ["x-forwarded-for", "forwarded", "x-real-ip", "cf-connecting-ip", "true-client-ip"],
        "Headers that carry the client address behind a trusted proxy, in order of preference "
        "(X-Forwarded-For and Forwarded are read right to left, trusted proxies skipped).",
    )
    geoip_path: str = _s(
        "",
        "An mmdb geo database (GeoLite2/GeoIP2/DB-IP City for city level). Empty: the "
        "country database that `make geo` installs in geoip/ (a wheel carries a copy).",
    )
    geo_networks: list[str] = _list(  # noqa: RUF009 -- a default_factory
        [],
        "Custom locations for networks the database does not know (private ranges): "
        "CIDR=COUNTRY|REGION|CITY|LAT|LON, trailing parts optional.",
    )
    ua_cache_size: int = _s(65_536, "Parsed user agents kept in the LRU cache.")
    url_cache_size: int = _s(
        65_536, "Normalised URLs kept per application by the batch step (cleared when full)."
    )
    bot_traffic: str = _s("drop", "Beacons from bots and crawlers: drop (counted) or tag.")
    synthetic_traffic: str = _s(
        "tag", "Beacons from synthetic monitors and headless browsers: drop (counted) or tag."
    )
    keep_query: bool = _s(False, "Keep query strings in stored URLs (session tokens still go).")
    keep_fragment: str = _s(
        "routes",
        "URL fragments kept in URLs and pages (hash routing): routes (those starting with / or "
        "!/, as hash routers write them; not #section anchors), all, or none.",
    )
    max_pages: int = _s(10_000, "Distinct pages per application; further new pages are 'Other'.")
    mask_personal_data: bool = _s(
        True,
        "Mask emails, card numbers, IBANs, IPs, UUIDs and ids of 5+ digits in URLs, action "
        "names and error messages.",
    )
    app_detection_rules: list[str] = _list(  # noqa: RUF009 -- a default_factory
        [],
        "For beacons without an application id, ordered PATTERN=APP rules matched against the "
        "origin host and URL path (glob: shop.example, *.example.org/blog/**).",
    )
    default_app: str = _s(
        "", "Application of beacons without an id that no detection rule matches ('' = drop)."
    )
    apdex_load_metric: str = _s(
        "duration", "Key metric of load and custom actions (duration, lcp, load_event_end, ...)."
    )
    apdex_xhr_metric: str = _s("duration", "Key metric of xhr and route_change actions.")
    # Sessions (Dynatrace web rules) and the user experience score
    session_inactivity_ms: int = _s(1_800_000, "A session ends after this long without beacons.")
    session_max_ms: int = _s(21_600_000, "A session ends when it has lasted this long (6 h).")
    session_max_actions: int = _s(
        200, "A session part ends after this many actions (the agent starts a new one)."
    )
    session_close_interval_s: float = _s(30.0, "How often the session closer runs.")
    ux_action_weight: float = _s(3.0, "UX score: weight of a user action (its Apdex class).")
    ux_error_weight: float = _s(1.0, "UX score: weight of an error (frustrating).")
    ux_rage_click_weight: float = _s(2.0, "UX score: weight of a rage click (frustrating).")
    ux_crash_weight: float = _s(5000.0, "UX score: weight of a crash (frustrating).")
    ux_frustrating_share: float = _s(
        0.3, "UX score: frustrating when the frustrating weight share is at least this."
    )
    ux_satisfying_share: float = _s(
        0.5,
        "UX score: satisfying when the satisfied share is at least this (and nothing frustrated).",
    )
    ux_last_action_frustrates: bool = _s(
        True, "UX score: a frustrated last action makes the session frustrating."
    )
    ux_rage_clicks: bool = _s(True, "UX score: rage clicks count as frustrating elements.")
    # Release regressions (docs/regressions.md)
    regression_fdr: float = _s(
        0.05, "Release regressions: false discovery rate across all segments and metrics."
    )
    regression_min_actions: int = _s(
        200, "Release regressions: fewest samples per release and segment for a metric's test."
    )
    regression_min_relative: float = _s(
        0.10, "Release regressions: smallest material p75 change, relative (0.10 = 10 %)."
    )
    regression_min_ms: float = _s(
        100.0, "Release regressions: smallest material p75 change of durations and LCP (ms)."
    )
    regression_min_inp_ms: float = _s(
        20.0, "Release regressions: smallest material p75 change of INP (ms)."
    )
    regression_min_cls: float = _s(0.01, "Release regressions: smallest material p75 CLS change.")
    regression_min_error_points: float = _s(
        0.005, "Release regressions: smallest material error share change (0.005 = 0.5 points)."
    )
    regression_min_apdex_points: float = _s(
        0.02, "Release regressions: smallest material Apdex change."
    )
    regression_sample_limit: int = _s(
        20_000, "Release regressions: most actions read per release and segment (a fixed sample)."
    )
    regression_max_segments: int = _s(
        50, "Release regressions: most segments per family compared, busiest first."
    )
    # Privacy (applications may override the retention in their config: retention_days)
    retention_events_days: int = _s(
        90, "Raw events (actions, errors, user events) older than this are deleted."
    )
    retention_sessions_days: int = _s(395, "Sessions last seen longer ago than this are deleted.")
    retention_diagnostics_days: int = _s(
        30, "Diagnostics (script attribution, waterfalls) older than this are deleted."
    )
    retention_interval_s: float = _s(3600.0, "How often the retention job runs.")
    # Query API
    query_max_rows: int = _s(10_000, "Most rows one query may return.")
    query_default_hours: int = _s(24, "Time range of a query without from/to (hours).")
    query_approximate_percentiles: bool = _s(
        True,
        "Percentiles from bounded-memory sketches (DuckDB: ~2 % wide log-spaced buckets; "
        "ClickHouse: T-Digest) rather than every value (exact).",
    )
    query_rollups: bool = _s(
        True, "Answer queries from hourly rollups where they can (DuckDB; ClickHouse always)."
    )
    query_approximate_sessions: bool = _s(
        True,
        "Distinct sessions over ranges of more than query_exact_sessions_max_actions actions by "
        "HyperLogLog (a few % off, constant memory) rather than exactly (DuckDB; ClickHouse "
        "counts exactly, or from its rollups' states).",
    )
    query_exact_sessions_max_actions: int = _s(
        1_000_000, "Ranges with at most this many actions count distinct sessions exactly."
    )
    # Store
    store_memory_mb: int = _s(
        256,
        "Memory the embedded store may use (it spills past it): its cache, the rows written since "
        "the last checkpoint (up to store_checkpoint_mb), and a write's working tables "
        "(docs/operations.md).",
    )
    resend_window_s: float = _s(
        7 * 3600.0,
        "The embedded store looks for an earlier copy of each event, and for each session's row, "
        "among the rows received this long before it (a session lasts at most 6 h, and event keys "
        "include the session id): a re-sent event is stored once. Spooled beacons stored again "
        "after a crash are always found (they keep their receive time).",
    )
    store_checkpoint_mb: int = _s(
        256,
        "Write-ahead log size at which the embedded store checkpoints (DuckDB's default is 16 MB): "
        "fewer checkpoints cost less time, and the rows written since the last one take memory.",
    )
    store_rollup_compact_writes: int = _s(
        30,
        "DuckDB: writes between two compactions of the rollups (each write appends its batch's "
        "sums; a compaction sums the rows of the hours written since).",
    )
    # Alerts (docs/alerts.md)
    alerts_interval_s: float = _s(
        60.0, "How often the server evaluates the alert rules (0 = never: no alerts from here)."
    )
    alerts_lateness_s: float = _s(
        300.0,
        "Alert windows end this long before now: beacons arrive up to the agent's flush delay "
        "after the actions they report (a page sends its events when it is hidden). Rules on "
        "completed sessions also wait for their sessions to close.",
    )
    alerts_window_steps: int = _s(
        60,
        "An alert window moves by 1/this of its length from one evaluation to the next, or by "
        "alerts_interval_s when that is longer: a 1-day window every 24 minutes.",
    )
    alerts_baseline_step_s: float = _s(
        900.0,
        "Baselines (the same window a day or a week before, a 7-day median) are measured on "
        "windows ending on a grid of the window's length, at most this: the same ones for every "
        "evaluation in between.",
    )
    alerts_baseline_prefetch: int = _s(
        2,
        "Baseline windows each rule measures ahead per evaluation, for its next grid step "
        "(spreading the measurement over the evaluations in between).",
    )
    alerts_lease_s: float = _s(
        180.0,
        "With several collectors on one store, the one evaluating alerts holds a lease this long "
        "(renewed at each evaluation); another takes over when it lapses.",
    )
    alerts_reminder_s: float = _s(
        14_400.0, "A firing incident is notified again after this long (0 = no reminders)."
    )
    alerts_delivery_attempts: int = _s(
        5, "Attempts to deliver one notification through one channel before giving up."
    )
    alerts_delivery_backoff_s: float = _s(
        2.0, "Wait before the second delivery attempt; each further attempt waits twice as long."
    )
    alerts_delivery_timeout_s: float = _s(
        10.0, "Time a webhook or SMTP server has to answer one delivery attempt."
    )
    # Built-in detectors (docs/alerts.md "Detectors")
    detector_min_actions: int = _s(
        100,
        "Actions a 15-minute window (and each day of its baseline) needs before the error, Apdex "
        "and vitals detectors judge it.",
    )
    detector_consecutive: int = _s(
        3, "Evaluations in a row the error, Apdex and vitals detectors must find bad to fire."
    )
    detector_error_spike_pct: float = _s(
        100.0,
        "The error share detector fires when the share of actions with an error is this many "
        "percent above the median of the same window on the 7 days before.",
    )
    detector_apdex_drop_pct: float = _s(
        15.0,
        "The Apdex detector fires when Apdex is this many percent below the median of the same "
        "window on the 7 days before.",
    )
    detector_traffic_drop_pct: float = _s(
        80.0,
        "The traffic detector fires when the last hour's page views are this many percent below "
        "the same hour a week before.",
    )
    detector_traffic_min_page_views: int = _s(
        50,
        "Page views the same hour a week before needs for the traffic detector to judge (quiet "
        "hours are not judged).",
    )
    detector_regression_interval_s: float = _s(
        3600.0,
        "How often the release regression detector compares an application's newest release with "
        "the one before (each comparison reads up to regression_sample_limit actions per segment).",
    )
    # Availability checks (docs/alerts.md "Availability checks")
    checks_min_every_s: int = _s(
        60, "The shortest interval between two runs of one availability check (every_s)."
    )
    checks_concurrency: int = _s(
        8, "Availability checks the server runs at the same time, at most (each round)."
    )
    # HTTP connections (collect/connection.py)
    max_header_bytes: int = _s(
        65_536, "Largest request head (request line and headers) in bytes (431 above)."
    )
    header_timeout_s: float = _s(
        10.0,
        "A request head must be complete this long (checked every half of it, so up to 1.5 times "
        "as long) after the connection opens or the previous response ends: 408 and closed "
        "otherwise, closed silently if nothing came.",
    )
    keepalive_timeout_s: int = _s(5, "An idle keep-alive connection is closed after this long.")
    max_connections: int = _s(
        10_000,
        "Open connections (or requests in progress) at most: 503 above. The server raises its "
        "open-file limit to fit this where the hard limit allows.",
    )
    # Server and access
    public_url: str = _s(
        "",
        "The URL browsers reach this server at (https://rum.example), used in every snippet and "
        "in the links of alert notifications. Empty: the address `openrum serve` listens on "
        "(--host, --port) for snippets, paths of this server in notifications; never a "
        "request's Host header.",
    )
    metrics_public: bool = _s(False, "Serve /metrics without a token (for a private network).")
    login_attempts_per_min: float = _s(10.0, "Login attempts per minute from one address.")
    login_session_hours: float = _s(12.0, "How long a dashboard login lasts.")
    cors_max_age_s: int = _s(86_400, "How long browsers may cache a CORS preflight answer.")
    agent_cache_s: int = _s(3600, "Cache-Control max-age for /openrum.js.")

    @classmethod
    def load(
        cls, overrides: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Build settings from ``OPENRUM_*`` environment variables, then explicit overrides.

        Raises ``ValueError`` naming the setting when a name is unknown or a value does not parse.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for f in fields.values():
            raw = env.get("OPENRUM_" + f.name.upper())
            if raw is not None:
                values[f.name] = _parse(f, raw)
        for name, raw in (overrides or {}).items():
            if name not in fields:
                raise ValueError(f"unknown setting {name!r}; see docs/settings.md")
            values[name] = _parse(fields[name], raw)
        # keep_fragment was a boolean: its old values still mean every fragment or none.
        legacy = str(values.get("keep_fragment", "")).lower()
        if legacy in _LEGACY_FRAGMENT_MODES:
            values["keep_fragment"] = _LEGACY_FRAGMENT_MODES[legacy]
        settings = cls(**values)
        if not 0 < settings.flush_interval_s <= 1:
            raise ValueError("flush_interval_s must be in (0, 1]")
        for name in ("switch_interval_ms", "header_timeout_s", "body_timeout_s"):
            if getattr(settings, name) <= 0:
                raise ValueError(f"{name} must be > 0")
        for name in (
            "write_max_events",
            "batch_step_chunk_beacons",
            "max_header_bytes",
            "keepalive_timeout_s",
            "max_connections",
        ):
            if getattr(settings, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if settings.public_url and not _is_base_url(settings.public_url):
            raise ValueError("public_url must be an http(s) URL without query or fragment")
        for name in ("bot_traffic", "synthetic_traffic"):
            if getattr(settings, name) not in ("drop", "tag"):
                raise ValueError(f"{name} must be 'drop' or 'tag'")
        if settings.alerts_delivery_attempts < 1:
            raise ValueError("alerts_delivery_attempts must be at least 1")
        for name in ("alerts_interval_s", "alerts_lateness_s", "alerts_reminder_s",
                     "alerts_baseline_step_s", "alerts_baseline_prefetch",
                     "detector_regression_interval_s"):  # fmt: skip
            if getattr(settings, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        for name in ("checks_min_every_s", "checks_concurrency", "alerts_window_steps"):
            if getattr(settings, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if not 1 <= settings.detector_consecutive <= 100:
            raise ValueError("detector_consecutive must be between 1 and 100")
        for name in ("detector_apdex_drop_pct", "detector_traffic_drop_pct"):
            if not 0 <= getattr(settings, name) <= 100:
                raise ValueError(f"{name} must be between 0 and 100")
        for name in ("detector_min_actions", "detector_traffic_min_page_views",
                     "detector_error_spike_pct"):  # fmt: skip
            if getattr(settings, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if settings.trace_url and not _is_trace_url(settings.trace_url):
            raise ValueError("trace_url must be an http(s) URL template with {trace_id}")
        if settings.keep_fragment not in FRAGMENT_MODES:
            raise ValueError("keep_fragment must be 'routes', 'all' or 'none'")
        return settings

    @classmethod
    def table(cls) -> list[tuple[str, str, Any, str]]:
        """(name, type, default, help) for every setting, in declaration order."""
        rows = []
        for f in dataclasses.fields(cls):
            default = f.default_factory() if callable(f.default_factory) else f.default
            rows.append((f.name, _type_name(f), default, f.metadata["help"]))
        return rows


def markdown() -> str:
    """docs/settings.md: every setting with its type, default and help."""
    lines = [
        "# Settings",
        "",
        "Every number OpenRUM uses is a setting. Set one with `openrum serve --setting NAME VALUE`",
        "or the environment variable `OPENRUM_NAME` (upper case). This page is generated from",
        "`openrum/settings.py` by `openrum settings --markdown`; a test checks that it is current.",
        "",
        "| setting | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for name, kind, default, help_ in Settings.table():
        lines.append(f"| `{name}` | {kind} | `{default!r}` | {help_} |")
    return "\n".join(lines) + "\n"


def _is_trace_url(url: str) -> bool:
    """An http(s) URL with ``{trace_id}`` in it (a Grafana link has it in its query)."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and "{trace_id}" in url


def _is_base_url(url: str) -> bool:
    parts = urlsplit(url)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.netloc)
        and not (parts.query or parts.fragment or "?" in url or "#" in url)
    )


def _type_name(f: dataclasses.Field[Any]) -> str:
    return str(f.type)


def _parse(f: dataclasses.Field[Any], raw: str) -> Any:
    kind = _type_name(f)
    try:
        if kind == "bool":
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "list[str]":
            return [part.strip() for part in raw.split(",") if part.strip()]
        return raw
    except ValueError:
        raise ValueError(f"setting {f.name}: {raw!r} is not a valid {kind}") from None


def background(niceness: int, idle: bool) -> None:
    """Make the calling thread background work: ``niceness`` lower, and with ``idle`` in Linux's
    idle scheduling class (SCHED_IDLE), which runs only on CPU time nothing else wants: a request
    woken on its core takes it at once, where a merely niced thread keeps it for its time slice.
    Threads the caller starts afterwards inherit both."""
    with contextlib.suppress(OSError, AttributeError):  # Linux: priorities are per thread
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    if idle:
        with contextlib.suppress(OSError, AttributeError):
            os.sched_setscheduler(threading.get_native_id(), os.SCHED_IDLE, os.sched_param(0))
