"""Every setting, CLI command, API route and beacon field is documented."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import msgspec
import pytest

from openrum.cli import build_parser
from openrum.collect import beacon
from openrum.server import Server
from openrum.settings import Settings, markdown
from openrum.store.duckdb import DuckDBStore

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_settings_page_is_generated_and_current() -> None:
    assert (DOCS / "settings.md").read_text() == markdown(), (
        "docs/settings.md is stale: run `openrum settings --markdown > docs/settings.md`"
    )


def commands(parser: argparse.ArgumentParser, prefix: str = "openrum") -> list[str]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append(f"{prefix} {name}")
                found += commands(sub, f"{prefix} {name}")
    return found


@pytest.mark.parametrize("command", commands(build_parser()))
def test_cli_command_is_documented(command: str) -> None:
    assert f"`{command}" in (DOCS / "cli.md").read_text()


def test_every_route_is_documented(store: DuckDBStore, tmp_path: Path) -> None:
    text = (DOCS / "api.md").read_text()
    server = Server(store, Settings.load({}, environ={}), tmp_path)
    paths = {"/api/v1/beacon", "/openrum.js", "/healthz", "/metrics"}
    for route in server.web.routes:
        path = getattr(route, "path", "")
        if path.startswith("/api/"):
            for method in sorted(getattr(route, "methods", None) or []):
                if method != "HEAD":
                    assert f"`{method} {path}" in text, f"{method} {path} is not in docs/api.md"
    for path in paths:
        assert path in text


STRUCTS = [
    beacon.Beacon,
    beacon.Env,
    beacon.ClientHints,
    beacon.Action,
    beacon.Vital,
    beacon.Error,
    beacon.UserEvent,
]


@pytest.mark.parametrize("struct", STRUCTS, ids=lambda s: s.__name__)
def test_every_beacon_field_is_documented(struct: type[msgspec.Struct]) -> None:
    text = (DOCS / "protocol.md").read_text()
    for field in struct.__struct_fields__:
        assert re.search(rf"`{field}`", text), f"{struct.__name__}.{field} not in protocol.md"
