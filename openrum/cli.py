"""The command line: ``openrum serve``, ``openrum demo``, ``openrum apps create|list``."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import getpass
import json
import os
import secrets
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openrum import __version__
from openrum.settings import Settings
from openrum.store import default_url, open_store
from openrum.store.base import Store, StoreError

DEFAULT_DATA = "data"


def _store_url(args: argparse.Namespace) -> str:
    return args.store or default_url(Path(args.data))


def _add_data(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=DEFAULT_DATA, help="data directory (default: ./data)")
    p.add_argument("--store", help="store URL (default: duckdb:///DATA/openrum.duckdb)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openrum", description="Self-hosted Real User Monitoring."
    )
    parser.add_argument("--version", action="version", version=f"openrum {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the collector, the API and the dashboard")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on")
    serve.add_argument(
        "--public-url",
        help="URL browsers reach this server at, for snippets (setting public_url; default: "
        "http://HOST:PORT)",
    )
    _add_data(serve)
    serve.add_argument(
        "--setting",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        default=[],
        help="set a setting (docs/settings.md); repeatable",
    )

    demo = sub.add_parser("demo", help="generate realistic synthetic traffic into the store")
    _add_data(demo)
    demo.add_argument("--sessions", type=int, default=3000, help="sessions to generate")
    demo.add_argument("--days", type=int, default=7, help="spread over the last D days")
    demo.add_argument("--seed", type=int, default=1, help="random seed")
    demo.add_argument("--app", default="demo", help="application id to generate for")
    demo.add_argument(
        "--if-empty", action="store_true", help="do nothing when the application already has data"
    )

    tokens = sub.add_parser("tokens", help="API tokens for machines")
    tokens_sub = tokens.add_subparsers(dest="tokens_command", required=True)
    t_create = tokens_sub.add_parser("create", help="create a token and print it (once)")
    t_create.add_argument("name")
    t_create.add_argument("--app", help="only this application (default: every one)")
    t_create.add_argument("--read-only", action="store_true", help="may only read")
    t_create.add_argument("--json", action="store_true", help="print JSON")
    _add_data(t_create)
    t_list = tokens_sub.add_parser("list", help="list tokens (never their secrets)")
    t_list.add_argument("--json", action="store_true", help="print JSON")
    _add_data(t_list)
    t_revoke = tokens_sub.add_parser("revoke", help="revoke a token by id")
    t_revoke.add_argument("id")
    _add_data(t_revoke)

    for name, help_ in (
        ("erase", "delete everything stored for a session or a user tag"),
        ("export", "print everything stored for a session or a user tag"),
    ):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--app", required=True, help="application id")
        target = p.add_mutually_exclusive_group(required=True)
        target.add_argument("--session", help="session id")
        target.add_argument("--user-tag", help="user tag (as set by openrum.identify)")
        _add_data(p)

    users = sub.add_parser("users", help="dashboard accounts")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    set_pw = users_sub.add_parser(
        "set-password", help="create a user or change its password (read from standard input)"
    )
    set_pw.add_argument("username")
    _add_data(set_pw)

    settings = sub.add_parser("settings", help="list every setting with its default")
    settings.add_argument("--markdown", action="store_true", help="print docs/settings.md")

    apps = sub.add_parser("apps", help="manage applications")
    apps_sub = apps.add_subparsers(dest="apps_command", required=True)
    create = apps_sub.add_parser("create", help="create an application and print its snippet")
    create.add_argument("name")
    create.add_argument(
        "--origin",
        action="append",
        default=[],
        help="allowed origin, e.g. https://shop.example; repeatable",
    )
    create.add_argument("--id", help="application id (default: random)")
    create.add_argument("--json", action="store_true", help="print JSON")
    create.add_argument(
        "--public-url",
        help="URL browsers reach the server at, for the snippet when no server is running "
        "(setting public_url)",
    )
    _add_data(create)
    list_ = apps_sub.add_parser("list", help="list applications")
    list_.add_argument("--json", action="store_true", help="print JSON")
    _add_data(list_)

    maps = sub.add_parser("sourcemaps", help="upload, list and delete source maps of releases")
    maps_sub = maps.add_subparsers(dest="maps_command", required=True)
    up = maps_sub.add_parser("upload", help="upload the .map and minified .js files of a build")
    up.add_argument("dir", help="the build's output directory (names are kept relative to it)")
    up.add_argument("--release", required=True, help="the release, as the snippet's data-release")
    up.add_argument(
        "--url-prefix",
        default="",
        help="URL the directory is served at, e.g. https://shop.example/",
    )
    ls = maps_sub.add_parser("list", help="list the releases with source maps")
    rm = maps_sub.add_parser("delete", help="delete a release's source maps")
    rm.add_argument("--release", required=True)
    for p in (up, ls, rm):
        p.add_argument("--app", required=True, help="application id")
        _add_data(p)

    from openrum.migrate import add_parser as add_migrate  # issue 7

    add_migrate(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            return serve(args)
        if args.command == "demo":
            from openrum.demo import generate

            if running_server(Path(args.data)):
                raise ValueError(
                    "stop `openrum serve` on this data directory before loading demo data"
                )
            return generate(args)
        if args.command == "tokens":
            return tokens_command(args)
        if args.command == "users":
            return set_password(args)
        if args.command in ("erase", "export"):
            return privacy_command(args)
        if args.command == "settings":
            return print_settings(args)
        if args.command == "apps":
            return apps_create(args) if args.apps_command == "create" else apps_list(args)
        if args.command == "sourcemaps":
            return sourcemaps_command(args)
        if args.command == "migrate":
            from openrum.migrate import command as migrate_command

            return migrate_command(args)
    except (StoreError, ValueError) as e:
        print(f"openrum: {e}", file=sys.stderr)
        return 2
    return 0


# -- serve --------------------------------------------------------------------------------------
def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from openrum.collect.connection import protocol
    from openrum.enrich.process import system_allocator, without_pandas
    from openrum.malloc import limit_arenas
    from openrum.server import Server

    overrides = dict(args.setting)
    if args.public_url:
        overrides["public_url"] = args.public_url
    settings = Settings.load(overrides)
    if not settings.public_url:  # snippets point at where this server listens
        settings = dataclasses.replace(settings, public_url=bind_url(args.host, args.port))
    data = Path(args.data)
    store_url = _store_url(args)
    limit_arenas()  # before the store's and the server's threads start
    system_allocator()
    if store_url.startswith("duckdb:"):
        without_pandas()
    store = open_store(store_url, settings)
    server = Server(store, settings, data)
    url = f"http://{_host(args.host)}:{args.port}"
    data.mkdir(parents=True, exist_ok=True)
    marker = data / "server.json"
    # Readable by this user only: the key acts as an administrator.
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"url": url, "pid": os.getpid(), "key": server.admin_key}, f)
    print(f"OpenRUM {__version__} on {url}  (store: {store.engine}, data: {data})", flush=True)
    first_admin(store)
    open_files(settings.max_connections)
    try:
        uvicorn.run(
            server.app,
            host=args.host,
            port=args.port,
            loop="uvloop",
            http=protocol(settings, server.metrics.refused),  # httptools, with limits
            timeout_keep_alive=settings.keepalive_timeout_s,
            limit_concurrency=settings.max_connections,
            lifespan="on",
            log_level="warning",
            access_log=False,
            proxy_headers=False,  # the collector reads trusted proxies' headers itself
            server_header=False,
            timeout_graceful_shutdown=5,  # then the writer stores what is spooled
        )
    finally:
        marker.unlink(missing_ok=True)
    return 0


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def bind_url(host: str, port: int) -> str:
    """``http://HOST:PORT`` of a listening address; a wildcard one (0.0.0.0, ::) names this
    machine instead, which browsers can reach."""
    if host in ("", "0.0.0.0", "::"):
        host = socket.getfqdn()
    return f"http://{_host(host)}:{port}"


def open_files(connections: int) -> None:
    """Raise the soft open-file limit so that ``connections`` sockets fit beside the store's
    and the spool's files (a connection is a file descriptor), as far as the hard limit allows."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + 1024
    if soft != resource.RLIM_INFINITY and soft < wanted:
        ceiling = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))


def first_admin(store: Store) -> None:
    """On first run, create the `admin` account: its password from OPENRUM_ADMIN_PASSWORD, or a
    random one shown once."""
    from openrum.web.auth import hash_password

    if store.user_count():
        return
    password = os.environ.get("OPENRUM_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
    store.set_password("admin", hash_password(password))
    store.audit("cli", "user_created", None, {"username": "admin"})
    if "OPENRUM_ADMIN_PASSWORD" in os.environ:
        print("Sign in as admin with the password from OPENRUM_ADMIN_PASSWORD.", flush=True)
    else:
        print(
            f"Sign in as admin with the password {password} (shown once; change it with "
            "`openrum users set-password admin`).",
            flush=True,
        )


def print_settings(args: argparse.Namespace) -> int:
    from openrum.settings import markdown

    if args.markdown:
        print(markdown(), end="")
        return 0
    for name, kind, default, help_ in Settings.table():
        print(f"{name} ({kind}, default {default!r}): {help_}")
    return 0


# -- apps ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Running:
    """The server running on a data directory: its URL and the key the CLI acts with."""

    url: str
    key: str


def running_server(data: Path) -> Running | None:
    """The server running on this data directory, if one answers."""
    try:
        marker = json.loads((data / "server.json").read_text())
        running = Running(str(marker["url"]), str(marker["key"]))
        with urllib.request.urlopen(running.url + "/healthz", timeout=2):
            return running
    except (OSError, ValueError, KeyError):
        return None


def _api(server: Running, path: str, body: Any = None, method: str | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        server.url + path,
        data=data,
        method=method,
        headers={"content-type": "application/json", "authorization": f"Bearer {server.key}"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raise ValueError(json.loads(e.read()).get("error", str(e))) from None


def apps_create(args: argparse.Namespace) -> int:
    from openrum.web.api import ApiError, new_app, public_url, snippet

    server = running_server(Path(args.data))
    if server:
        created = _api(
            server, "/api/v1/apps", {"name": args.name, "origins": args.origin, "id": args.id}
        )
    else:
        overrides = {"public_url": args.public_url} if args.public_url else {}
        settings = Settings.load(overrides)
        base = public_url(settings)
        if not settings.public_url:
            print(
                f"openrum: no server is running: the snippet points at {base}, where `openrum "
                "serve` listens by default; give --public-url (or OPENRUM_PUBLIC_URL) for the "
                "URL browsers reach",
                file=sys.stderr,
            )
        try:
            app = new_app(args.name, args.origin, args.id)
        except ApiError as e:
            raise ValueError(str(e)) from None
        store = open_store(_store_url(args))
        try:
            store.create_app(app)
        finally:
            store.close()
        created = {
            "id": app.id,
            "name": app.name,
            "origins": app.origins,
            "created": app.created,
            "snippet": snippet(app.id, base),
        }
    if args.json:
        print(json.dumps(created))
    else:
        print(f"Created application {created['name']!r} with id {created['id']}")
        print("Paste this into the <head> of every page:\n")
        print("  " + created["snippet"])
    return 0


def apps_list(args: argparse.Namespace) -> int:
    server = running_server(Path(args.data))
    if server:
        apps = _api(server, "/api/v1/apps")["apps"]
    else:
        store = open_store(_store_url(args))
        try:
            apps = [
                {"id": a.id, "name": a.name, "origins": a.origins, "created": a.created}
                for a in store.list_apps()
            ]
        finally:
            store.close()
    if args.json:
        print(json.dumps(apps))
    else:
        for a in apps:
            print(f"{a['id']}\t{a['name']}\t{' '.join(a['origins']) or '(any origin)'}")
    return 0


# -- tokens and users ---------------------------------------------------------------------------
def _with_store(args: argparse.Namespace) -> Store:
    return open_store(_store_url(args))


def tokens_command(args: argparse.Namespace) -> int:
    from openrum.web.auth import new_token

    server = running_server(Path(args.data))
    if args.tokens_command == "create":
        if server:
            out = _api(
                server,
                "/api/v1/tokens",
                {"name": args.name, "app": args.app, "read_only": args.read_only},
            )
        else:
            secret, token = new_token(args.name, args.app, args.read_only)
            store = _with_store(args)
            try:
                if args.app and args.app not in {a.id for a in store.list_apps()}:
                    raise ValueError(f"no application {args.app!r}")
                store.save_token(token)
                store.audit("cli", "token_created", token.app, {"id": token.id})
            finally:
                store.close()
            out = {
                "id": token.id,
                "name": token.name,
                "app": token.app,
                "read_only": token.read_only,
                "token": secret,
            }
        if args.json:
            print(json.dumps(out))
        else:
            print(f"Token {out['name']!r} (id {out['id']}): {out['token']}")
            print("It is shown once: store it now. Send it as `Authorization: Bearer <token>`.")
        return 0
    if args.tokens_command == "list":
        if server:
            rows = _api(server, "/api/v1/tokens")["tokens"]
        else:
            store = _with_store(args)
            try:
                rows = [
                    {
                        "id": t.id,
                        "name": t.name,
                        "app": t.app,
                        "read_only": t.read_only,
                        "created": t.created,
                    }
                    for t in store.list_tokens()
                ]
            finally:
                store.close()
        if args.json:
            print(json.dumps(rows))
        else:
            for t in rows:
                scope = t["app"] or "every application"
                print(f"{t['id']}\t{t['name']}\t{scope}\t{'read-only' if t['read_only'] else ''}")
        return 0
    if server:
        _api(server, f"/api/v1/tokens/{args.id}", method="DELETE")
    else:
        store = _with_store(args)
        try:
            if not store.delete_token(args.id):
                raise ValueError(f"no token {args.id!r}")
            store.audit("cli", "token_revoked", None, {"id": args.id})
        finally:
            store.close()
    print(f"Revoked token {args.id}")
    return 0


def set_password(args: argparse.Namespace) -> int:
    from openrum.web.auth import hash_password

    if running_server(Path(args.data)):
        raise ValueError("stop `openrum serve` on this data directory first")
    if sys.stdin.isatty():
        password = getpass.getpass("New password: ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < 10:
        raise ValueError("a password needs at least 10 characters")
    store = _with_store(args)
    try:
        store.set_password(args.username, hash_password(password))
        store.audit("cli", "password_set", None, {"username": args.username})
    finally:
        store.close()
    print(f"Password of {args.username!r} set.")
    return 0


# -- privacy ------------------------------------------------------------------------------------
def privacy_command(args: argparse.Namespace) -> int:
    from urllib.parse import urlencode

    from openrum import privacy

    server = running_server(Path(args.data))
    target = {"app": args.app, "session_id": args.session, "user_tag": args.user_tag}
    if server:
        if args.command == "erase":
            out = _api(server, "/api/v1/erase", target)
        else:
            params = urlencode({k: v for k, v in target.items() if v})
            out = _api(server, f"/api/v1/export?{params}")
    else:
        store = _with_store(args)
        try:
            fn = privacy.erase if args.command == "erase" else privacy.export
            result = fn(store, args.app, args.session, args.user_tag, "cli")
        finally:
            store.close()
        out = {"deleted": result} if args.command == "erase" else result
    print(json.dumps(out, default=str, indent=1 if args.command == "export" else None))
    return 0


# -- sourcemaps ---------------------------------------------------------------------------------
def sourcemaps_command(args: argparse.Namespace) -> int:
    """Source maps live in files of the data directory (docs/errors.md): the CLI reads and
    writes them there, with or without a server running; CI on another machine uses the API."""
    import dataclasses

    from openrum.sourcemaps import open_maps

    settings = Settings.load()
    if not settings.sourcemaps_dir:
        settings = dataclasses.replace(settings, sourcemaps_dir=str(Path(args.data) / "sourcemaps"))
    maps = open_maps(settings)
    assert maps is not None
    if args.maps_command == "upload":
        root = Path(args.dir)
        if not root.is_dir():
            raise ValueError(f"{root} is not a directory")
        files = {
            p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*"))
            if p.is_file() and p.name.endswith((".js", ".mjs", ".cjs", ".map"))
        }
        done = maps.upload(args.app, args.release, files, args.url_prefix)
        print(f"{args.app} {done.release}: {done.files} files, {done.bytes} bytes")
    elif args.maps_command == "list":
        for r in maps.releases(args.app):
            print(f"{r.release}\t{r.files} files\t{r.bytes} bytes")
    elif not maps.delete(args.app, args.release):
        raise ValueError(f"no source maps for release {args.release!r}")
    return 0
