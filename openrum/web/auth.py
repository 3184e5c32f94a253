"""Who may read and change what: logins for people, tokens for machines, closed by default.

- People log in at ``/login``; the session lives in an HttpOnly, SameSite=Strict cookie, and every
  state-changing request made with it must carry the session's CSRF token (``X-CSRF-Token``, from
  ``GET /api/v1/me``). Passwords are hashed with scrypt; login attempts are rate limited.
- Machines send ``Authorization: Bearer <token>``; a token may be read-only and scoped to one
  application. Only token hashes are stored.
- The server writes a per-process admin key into ``DATA/server.json`` (mode 0600) so that the
  ``openrum`` CLI on the same machine acts through the running server.
- Every response of the web app carries security headers (a strict Content-Security-Policy,
  ``X-Content-Type-Options``, ``frame-ancestors 'none'``).

The collector's public routes (``/api/v1/beacon``, ``/openrum.js``, ``/healthz``) never reach this
layer: browsers cannot authenticate a beacon.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import html
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, quote

import msgspec

from openrum.collect.limits import RateLimiter
from openrum.store.base import LoginSession, Store, Token

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Write = Callable[[Callable[[Store], Any]], Awaitable[Any]]

COOKIE = "openrum_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# POSTs that only read: a read-only token may make them.
READ_POSTS = frozenset({"/api/v1/query"})
PUBLIC = frozenset({"/login", "/login.css"})
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        b"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        b"form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$n$r$p$salt$hash`` for a password (a fresh random salt unless given)."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    b64 = base64.b64encode
    return (
        f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}$"
        f"{b64(salt).decode()}${b64(digest).decode()}"
    )


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a stored hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), dklen=32, n=int(n), r=int(r), p=int(p)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, base64.b64decode(digest))


def token_hash(secret: str) -> str:
    """How a token or cookie value is stored: its SHA-256 (they are random, so no salt)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token(name: str, app: str | None, read_only: bool) -> tuple[str, Token]:
    """A new API token: the secret (shown once) and what is stored of it."""
    secret = "orum_" + secrets.token_urlsafe(32)
    token = Token(
        id=secrets.token_hex(6),
        name=name,
        token_hash=token_hash(secret),
        created=int(time.time() * 1000),
        app=app,
        read_only=read_only,
    )
    return secret, token


class Principal(msgspec.Struct, frozen=True):
    """Who made a request and what they may do."""

    name: str
    kind: str  # user, token, admin_key
    app: str | None = None  # scope: None for every application
    read_only: bool = False
    csrf: str | None = None  # cookie logins only

    def may_read(self, app: str) -> bool:
        return self.app is None or self.app == app

    @property
    def admin(self) -> bool:
        return self.app is None and not self.read_only


class Auth:
    """The authentication layer: raw ASGI around the web app, plus the login routes."""

    def __init__(
        self,
        store: Store,
        write: Write,
        admin_key: str,
        login_per_min: float = 10,
        session_hours: float = 12,
        public_metrics: bool = False,
        body_timeout_s: float = 10.0,
    ) -> None:
        self.public_metrics = public_metrics
        self.body_timeout_s = body_timeout_s
        self.store = store
        self.write = write
        self.admin_key_hash = token_hash(admin_key)
        self.tokens: dict[str, Token] = {t.token_hash: t for t in store.list_tokens()}
        self.session_ms = int(session_hours * 3_600_000)
        self.login_limit = RateLimiter(login_per_min / 60, login_per_min)

    # -- who is asking ------------------------------------------------------------------------
    def principal(self, scope: Scope) -> Principal | None:
        cookie = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, secret = value.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer":
                    return None
                return self._bearer(secret.strip())
            if name == b"cookie":
                cookie = value
        secret = _cookie_value(cookie.decode("latin-1"), COOKIE)
        if not secret:
            return None
        login = self.store.find_login(token_hash(secret))
        if login is None or login.expires < time.time() * 1000:
            return None
        return Principal(login.username, "user", csrf=login.csrf)

    def _bearer(self, secret: str) -> Principal | None:
        hashed = token_hash(secret)
        if hmac.compare_digest(hashed, self.admin_key_hash):
            return Principal("cli", "admin_key")
        token = self.tokens.get(hashed)
        if token is None:
            return None
        return Principal(f"token:{token.name}", "token", token.app, token.read_only)

    # -- the ASGI layer -----------------------------------------------------------------------
    def wrap(self, app: ASGIApp) -> ASGIApp:
        """The web app behind authentication and security headers."""

        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
                await send(message)

            path: str = scope["path"]
            if path in PUBLIC:
                await self.login_page(scope, receive, send_with_headers)
                return
            if path == "/metrics" and self.public_metrics:
                await app(scope, receive, send_with_headers)
                return
            who = self.principal(scope)
            if who is None:
                if path.startswith("/api/") or path == "/metrics":
                    await _plain(
                        send_with_headers,
                        401,
                        "login or a bearer token required",
                        [(b"www-authenticate", b'Bearer realm="openrum"')],
                    )
                else:
                    target = "/login?next=" + quote(path, safe="/")
                    await _plain(send_with_headers, 303, "", [(b"location", target.encode())])
                return
            method = scope["method"]
            if method not in SAFE_METHODS:
                if who.read_only and path not in READ_POSTS:
                    await _plain(send_with_headers, 403, "this token is read-only", [])
                    return
                if who.kind == "user" and not _csrf_ok(scope, who.csrf):
                    await _plain(send_with_headers, 403, "missing or wrong X-CSRF-Token", [])
                    return
            scope.setdefault("state", {})["principal"] = who
            await app(scope, receive, send_with_headers)

        return guarded

    # -- /login and /logout -------------------------------------------------------------------
    async def login_page(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/login.css":
            await _plain(send, 200, LOGIN_CSS, [(b"content-type", b"text/css; charset=utf-8")])
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        target = _safe_next(query.get("next", ["/"])[0])
        if scope["method"] not in ("GET", "HEAD", "POST"):
            await _plain(send, 405, "use GET or POST", [(b"allow", b"GET, HEAD, POST")])
            return
        if scope["method"] != "POST":
            await _html(send, 200, _login_form(target, ""))
            return
        body = b""
        more = True
        try:
            # A client may not hold the form open: the body has body_timeout_s to arrive.
            async with asyncio.timeout(self.body_timeout_s):
                while more:
                    message = await receive()
                    body += message.get("body", b"")
                    more = message.get("more_body", False)
                    if len(body) > 10_000:
                        await _plain(send, 413, "too large", [])
                        return
        except TimeoutError:
            await _plain(send, 408, "the form took too long to arrive", [(b"connection", b"close")])
            return
        if not _same_origin(scope):
            await _plain(send, 403, "cross-site login refused", [])
            return
        client = scope.get("client")
        wait = self.login_limit.allow(client[0] if client else "", time.time())
        if wait:
            await _html(
                send,
                429,
                _login_form(target, "Too many attempts: wait a minute."),
                [(b"retry-after", str(int(wait) + 1).encode())],
            )
            return
        form = parse_qs(body.decode("utf-8", "replace"))
        username = form.get("username", [""])[0]
        password = form.get("password", [""])[0]
        stored = self.store.password_hash(username)
        if stored is None or not verify_password(password, stored):
            await self.write(lambda s: s.audit(username or "?", "login_failed", None, {}))
            await _html(send, 401, _login_form(target, "Wrong user name or password."))
            return
        secret = secrets.token_urlsafe(32)
        login = LoginSession(
            token_hash(secret),
            username,
            secrets.token_urlsafe(24),
            int(time.time() * 1000) + self.session_ms,
        )
        await self.write(lambda s: s.save_login(login))
        await self.write(lambda s: s.audit(username, "login", None, {}))
        secure = "; Secure" if scope.get("scheme") == "https" else ""
        cookie = (
            f"{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; "
            f"Max-Age={self.session_ms // 1000}{secure}"
        )
        await _plain(
            send, 303, "", [(b"location", target.encode()), (b"set-cookie", cookie.encode())]
        )

    async def logout(self, scope: Scope) -> bytes:
        """End the request's login session; the Set-Cookie header value that clears it."""
        cookie = b""
        for name, value in scope["headers"]:
            if name == b"cookie":
                cookie = value
        secret = _cookie_value(cookie.decode("latin-1"), COOKIE)
        if secret:
            hashed = token_hash(secret)
            await self.write(lambda s: s.delete_login(hashed))
        return f"{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0".encode()


def _cookie_value(header: str, name: str) -> str:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


def _csrf_ok(scope: Scope, expected: str | None) -> bool:
    for name, value in scope["headers"]:
        if name == b"x-csrf-token":
            return expected is not None and hmac.compare_digest(value.decode("latin-1"), expected)
    return False


def _same_origin(scope: Scope) -> bool:
    """A login form must be posted from this server's own pages (login CSRF)."""
    origin = host = ""
    for name, value in scope["headers"]:
        if name == b"origin":
            origin = value.decode("latin-1")
        elif name == b"host":
            host = value.decode("latin-1")
    return not origin or origin.split("://", 1)[-1] == host


def _safe_next(target: str) -> str:
    """Where to go after signing in: an absolute path on this server, else ``/``.

    No open redirect to another host: browsers drop tabs and newlines from a URL and read a
    backslash as a slash (https://url.spec.whatwg.org/#concept-basic-url-parser), so
    ``next=/%5Cevil.example`` and ``next=/%09/evil.example`` mean ``//evil.example``; CR/LF would
    also split the Location header. What is kept is percent-encoded: the header is ASCII."""
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(c <= " " or c == "\x7f" for c in target)
    ):
        return "/"
    return quote(target, safe="/?&=%#:@!$'()*+,;~")


async def _plain(send: Send, status: int, text: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = text.encode()
    if not any(name == b"content-type" for name, _ in headers):
        headers = [*headers, (b"content-type", b"text/plain; charset=utf-8")]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _html(
    send: Send, status: int, page: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await _plain(
        send, status, page, [*(headers or []), (b"content-type", b"text/html; charset=utf-8")]
    )


def _login_form(target: str, error: str) -> str:
    message = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · OpenRUM</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/login.css"></head>
<body><main>
<h1>OpenRUM</h1>
<form method="post" action="/login?next={html.escape(quote(target, safe="/"))}">
{message}
<label for="username">User name</label>
<input id="username" name="username" autocomplete="username" required value="admin">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required
 autofocus>
<button type="submit">Sign in</button>
</form></main></body></html>"""


LOGIN_CSS = """
body { font: 16px/1.5 system-ui, sans-serif; background: #f4f6f8; color: #1b2733; margin: 0; }
main { max-width: 22rem; margin: 12vh auto; background: #fff; padding: 2rem;
       border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.12); }
h1 { margin: 0 0 1rem; font-size: 1.5rem; }
label { display: block; margin-top: 1rem; font-weight: 600; }
input { width: 100%; box-sizing: border-box; padding: .5rem; font: inherit;
        border: 1px solid #9aa5b1; border-radius: 4px; }
button { margin-top: 1.5rem; width: 100%; padding: .6rem; font: inherit; font-weight: 600;
         background: #0b5cad; color: #fff; border: 0; border-radius: 4px; cursor: pointer; }
button:focus, input:focus { outline: 3px solid #f0b400; outline-offset: 1px; }
.error { color: #a3141e; font-weight: 600; }
"""
