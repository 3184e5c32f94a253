"""The command line: ``openrum serve``, ``openrum demo``, ``openrum apps create|list``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openrum import __version__
from openrum.settings import Settings
from openrum.store import default_url, open_store
from openrum.store.base import StoreError

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
    _add_data(create)
    list_ = apps_sub.add_parser("list", help="list applications")
    list_.add_argument("--json", action="store_true", help="print JSON")
    _add_data(list_)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            return serve(args)
        if args.command == "demo":
            from openrum.demo import generate

            return generate(args)
        if args.command == "settings":
            return print_settings(args)
        if args.command == "apps":
            return apps_create(args) if args.apps_command == "create" else apps_list(args)
    except (StoreError, ValueError) as e:
        print(f"openrum: {e}", file=sys.stderr)
        return 2
    return 0


# -- serve --------------------------------------------------------------------------------------
def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from openrum.server import Server

    settings = Settings.load(dict(args.setting))
    data = Path(args.data)
    store = open_store(_store_url(args))
    server = Server(store, settings, data)
    url = f"http://{args.host}:{args.port}"
    marker = data / "server.json"
    data.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"url": url, "pid": os.getpid()}))
    print(f"OpenRUM {__version__} on {url}  (store: {store.engine}, data: {data})", flush=True)
    try:
        uvicorn.run(
            server.app,
            host=args.host,
            port=args.port,
            loop="uvloop",
            http="httptools",
            lifespan="on",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=5,  # then the writer stores what is spooled
        )
    finally:
        marker.unlink(missing_ok=True)
    return 0


def print_settings(args: argparse.Namespace) -> int:
    from openrum.settings import markdown

    if args.markdown:
        print(markdown(), end="")
        return 0
    for name, kind, default, help_ in Settings.table():
        print(f"{name} ({kind}, default {default!r}): {help_}")
    return 0


# -- apps ---------------------------------------------------------------------------------------
def running_server(data: Path) -> str | None:
    """The URL of the server running on this data directory, if one answers."""
    try:
        url = str(json.loads((data / "server.json").read_text())["url"])
        with urllib.request.urlopen(url + "/healthz", timeout=2):
            return url
    except (OSError, ValueError, KeyError):
        return None


def _api(url: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url + path, data=data, headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as e:
        raise ValueError(json.loads(e.read()).get("error", str(e))) from None


def apps_create(args: argparse.Namespace) -> int:
    from openrum.web.api import ApiError, new_app, snippet

    url = running_server(Path(args.data))
    if url:
        created = _api(
            url, "/api/v1/apps", {"name": args.name, "origins": args.origin, "id": args.id}
        )
    else:
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
            "snippet": snippet(app.id, "http://127.0.0.1:8080"),
        }
    if args.json:
        print(json.dumps(created))
    else:
        print(f"Created application {created['name']!r} with id {created['id']}")
        print("Paste this into the <head> of every page:\n")
        print("  " + created["snippet"])
    return 0


def apps_list(args: argparse.Namespace) -> int:
    url = running_server(Path(args.data))
    if url:
        apps = _api(url, "/api/v1/apps")["apps"]
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
