"""The Store protocol: the one seam between OpenRUM and a database engine."""

from __future__ import annotations

from typing import Any, Protocol

import msgspec
import pyarrow as pa

from openrum.rows import Batch


class StoreError(Exception):
    """The store cannot do what was asked (bad URL, engine failure)."""


class App(msgspec.Struct, omit_defaults=True):
    """An application: one website or SPA and the origins allowed to send beacons for it."""

    id: str
    name: str
    origins: list[str]
    created: int  # epoch ms
    config: dict[str, Any] = {}


class Token(msgspec.Struct, omit_defaults=True):
    """An API token as stored: the secret itself is never kept, only its hash."""

    id: str
    name: str
    token_hash: str
    created: int  # epoch ms
    app: str | None = None  # None: every application
    read_only: bool = False


class LoginSession(msgspec.Struct):
    """A dashboard login: the cookie's hash, who, its CSRF token and when it expires."""

    id_hash: str
    username: str
    csrf: str
    expires: int  # epoch ms


class Incident(msgspec.Struct, omit_defaults=True):
    """An alert incident (docs/alerts.md): firing from ``start`` until resolved at ``end``."""

    id: str
    rule: str
    app: str
    severity: str
    state: str  # firing, resolved
    start: int  # epoch ms
    end: int | None = None
    notified: int = 0  # epoch ms of the last notification sent (0: none yet)
    detail: dict[str, Any] = {}  # rule name, metric, values, dashboard link


class Delivery(msgspec.Struct):
    """One attempt to send a notification through a channel."""

    time: int  # epoch ms
    incident: str
    channel: str
    event: str  # firing, reminder, resolved, test
    attempt: int
    ok: bool
    status: str  # the HTTP status or SMTP reply, or the error


class ErrorStatus(msgspec.Struct, omit_defaults=True):
    """The triage status a person gave an error group (docs/errors.md "Triage")."""

    app: str
    fingerprint: str
    status: str  # unresolved, resolved, ignored
    changed: int  # epoch ms
    actor: str
    release: str | None = None  # resolved in this release
    until: int | None = None  # ignored until then (epoch ms)
    events: int | None = None  # ignored until this many more events
    sessions: int | None = None  # ignored until this many more sessions


class CheckResult(msgspec.Struct):
    """One run of an availability check (docs/alerts.md "Availability checks")."""

    time: int  # epoch ms
    check: str
    app: str
    ok: bool
    status: int  # the HTTP status; 0 when no answer came
    latency_ms: float
    tls_days: float | None = None  # days until the certificate expires (https only)
    error: str = ""  # why it failed; empty when ok


class Store(Protocol):
    """What every storage engine provides. ``write`` is called from one writer thread only."""

    engine: str  # the SQL dialect the query compiler targets: "duckdb", "clickhouse"

    def write(self, batch: Batch) -> None:
        """Store a batch; events already stored (same key) are kept once. Raises StoreError."""

    def select(self, sql: str, params: list[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run a read-only query with bound parameters; return column names and rows."""

    def rest(self) -> bool:
        """Give back memory held for reads and writes, the server being at rest (the writer
        thread calls it). True when done or nothing is held; False: to be tried again."""

    def close_sessions(self, closed: pa.Table) -> int:
        """Complete sessions with the closer's values (columns of ``rows.ClosedSession``);
        sessions already closed are left as they are, so running twice is harmless. Returns the
        number of sessions closed. Raises StoreError."""

    def create_app(self, app: App) -> None:
        """Add an application. Raises StoreError when the id exists."""

    def update_app(self, app: App) -> None:
        """Replace an application's name, origins and config. Raises StoreError if unknown."""

    def list_apps(self) -> list[App]:
        """Every application, oldest first."""

    # -- privacy (docs/privacy.md) ------------------------------------------------------------
    def sessions_of(self, app: str, user_tag: str) -> list[str]:
        """Ids of the sessions of an application tagged with ``user_tag``."""

    def erase(self, app: str, session_ids: list[str]) -> dict[str, int]:
        """Delete everything stored for these sessions; rows deleted per table."""

    def export(self, app: str, session_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Everything stored for these sessions, per table."""

    def expire(self, app: str, events_before: int, sessions_before: int) -> dict[str, int]:
        """Delete events that started before ``events_before`` and sessions last seen before
        ``sessions_before`` (epoch ms); rows deleted per table."""

    def expire_diagnostics(self, app: str, before: int) -> int:
        """Delete diagnostics (the ``diagnostics`` table) from before ``before`` (epoch ms);
        rows deleted."""

    # -- accounts, logins, tokens, audit (docs/security.md) ------------------------------------
    def password_hash(self, username: str) -> str | None:
        """The stored password hash of a user, or None."""

    def set_password(self, username: str, password_hash: str) -> None:
        """Create a user or replace its password hash."""

    def user_count(self) -> int:
        """How many users exist."""

    def save_login(self, login: LoginSession) -> None:
        """Store a login session."""

    def find_login(self, id_hash: str) -> LoginSession | None:
        """A login session by the hash of its cookie."""

    def delete_login(self, id_hash: str) -> None:
        """End a login session."""

    def save_token(self, token: Token) -> None:
        """Store an API token (its hash)."""

    def list_tokens(self) -> list[Token]:
        """Every API token, oldest first."""

    def delete_token(self, token_id: str) -> bool:
        """Revoke a token; False when there was none with that id."""

    def audit(self, actor: str, action: str, app: str | None, detail: dict[str, Any]) -> None:
        """Append an entry to the audit log."""

    # -- alerts (docs/alerts.md) ---------------------------------------------------------------
    def save_alert_item(self, kind: str, item_id: str, body: dict[str, Any]) -> None:
        """Create or replace an alert rule (``kind`` "rules"), channel ("channels"), silence
        ("silences") or availability check ("checks")."""

    def alert_items(self, kind: str) -> list[dict[str, Any]]:
        """Every alert rule, channel, silence or check, oldest first."""

    def delete_alert_item(self, kind: str, item_id: str) -> bool:
        """Delete a rule, channel or silence; False when there was none with that id."""

    def save_incident(self, incident: Incident) -> None:
        """Create or replace an incident (by id)."""

    def incidents(
        self, app: str | None = None, state: str | None = None, limit: int = 100
    ) -> list[Incident]:
        """Incidents, newest first, of one application and in one state when given."""

    def log_delivery(self, delivery: Delivery) -> None:
        """Append a delivery attempt to the delivery log."""

    def deliveries(self, incident: str | None = None, limit: int = 100) -> list[Delivery]:
        """Delivery attempts, newest first (of one incident when given)."""

    # -- error triage (docs/errors.md "Triage") ------------------------------------------------
    def save_error_status(self, status: ErrorStatus) -> None:
        """Create or replace an error group's status (by app and fingerprint)."""

    def error_statuses(self, app: str, fingerprints: list[str] | None = None) -> list[ErrorStatus]:
        """The stored statuses of an application's error groups (of ``fingerprints`` when
        given)."""

    def save_check_result(self, result: CheckResult) -> None:
        """Append a run of an availability check."""

    def check_results(self, check: str, since: int = 0, limit: int = 100) -> list[CheckResult]:
        """Runs of one check at or after ``since`` (epoch ms), newest first."""

    def take_lease(self, name: str, holder: str, now_ms: int, ttl_ms: int) -> bool:
        """Hold the lease ``name`` until ``now_ms + ttl_ms`` if it is free, expired or already
        ``holder``'s; whether ``holder`` holds it now. With several collectors on one store,
        exactly one wins."""

    def close(self) -> None:
        """Flush and release the engine."""
