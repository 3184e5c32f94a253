"""The wheel, as a user installs it (docs/install.md): built from the tree `make` has prepared,
installed into a new virtual environment, served with no Node.js on PATH, used in Chromium.

The new environment installs the wheel's dependencies from the package index (pip's cache makes
that quick once the project's own environment is installed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from openrum import __version__
from tests.browser.agent_site import ROOT, Site, create_app, page, poll, query, snippet
from tests.conftest import LiveServer, free_port, stop_server

pytestmark = pytest.mark.browser
PASSWORD = "wheel password 42"
STATIC = ("openrum/collect/static", "openrum/web/static")
# What a copy of the source tree leaves out: installed packages, caches, data, earlier builds.
SKIP = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "__pycache__", "*.pyc", ".*_cache", ".hypothesis", "data",
    ".data", "*.duckdb", "*.duckdb.wal", "build", "dist", "*.egg-info", "results", "screenshots",
)  # fmt: skip


def skip(folder: str, names: list[str]) -> set[str]:
    """What to leave out of ``folder``: ``SKIP``, but geoip's npm packages (the geo database)."""
    left = set(SKIP(folder, names))
    if Path(folder) == ROOT / "geoip":
        left.discard("node_modules")
    return left


def source_copy(dest: Path) -> Path:
    """The source tree in ``dest`` (a build writes build/ and *.egg-info beside its sources)."""
    shutil.copytree(ROOT, dest, ignore=skip)
    return dest


def child_env(**extra: str) -> dict[str, str]:
    """This environment without Node.js (every PATH entry holding node, npm or npx is dropped)
    and without this checkout on the Python path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    path = [
        d
        for d in env.get("PATH", "").split(os.pathsep)
        if d and not any(os.path.exists(os.path.join(d, tool)) for tool in ("node", "npm", "npx"))
    ]
    env["PATH"] = os.pathsep.join(path)
    return {**env, **extra}


def pip_wheel(src: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
        env=child_env(),
    )


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with the wheel built from this tree installed."""
    for d in STATIC:
        assert any((ROOT / d).iterdir()), f"{d} is empty: make setup builds the agent and dashboard"
    tmp = tmp_path_factory.mktemp("wheel")
    built = pip_wheel(source_copy(tmp / "src"), tmp / "dist")
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp / "dist").glob("openrum-*.whl")
    assert wheel.name.startswith(f"openrum-{__version__}-")
    # Every file of the built agent and dashboard is in it (hashed names and all).
    names = set(zipfile.ZipFile(wheel).namelist())
    for d in STATIC:
        for f in (ROOT / d).rglob("*"):
            if f.is_file():
                assert str(f.relative_to(ROOT)) in names, f"{f.name} is not in the wheel"
    # And the country database, with its licence.
    assert "openrum/enrich/geoip/geo-whois-asn-country.mmdb" in names
    assert "openrum/enrich/geoip/NRO_LICENSE" in names
    env = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, timeout=120)
    pip = [str(env / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)]
    done = subprocess.run(pip, capture_output=True, text=True, timeout=900, env=child_env())
    assert done.returncode == 0, done.stderr
    return env


def test_a_wheel_build_stops_when_the_agent_and_dashboard_are_not_built(tmp_path: Path) -> None:
    src = source_copy(tmp_path / "src")
    for d in STATIC:
        shutil.rmtree(src / d, ignore_errors=True)
    built = pip_wheel(src, tmp_path / "dist")
    assert built.returncode != 0
    assert "the agent and dashboard are not built" in built.stdout + built.stderr
    assert not list((tmp_path / "dist").glob("*.whl"))


def serve(venv: Path, data: Path, env: dict[str, str]) -> LiveServer:
    """`openrum serve` of the new environment, from a directory outside the source tree."""
    port = free_port()
    data.mkdir(parents=True)
    log = data.parent / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(venv / "bin" / "openrum"), "serve", "--port", str(port), "--data", str(data)],
            cwd=data.parent,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return LiveServer(url, data, proc, log)
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"the installed server did not start in 60 s: {log.read_text()}")


def test_the_installed_wheel_serves_without_node(
    browser: Browser, venv: Path, tmp_path: Path
) -> None:
    env = child_env(OPENRUM_ADMIN_PASSWORD=PASSWORD)
    for tool in ("node", "npm", "npx"):
        assert shutil.which(tool, path=env["PATH"]) is None
    python = str(venv / "bin" / "python")
    probe = (
        "import importlib.metadata as m, openrum; from openrum.enrich import geo; "
        "print(openrum.__file__, m.version('openrum'), geo.default_path(), "
        "geo.Locator(geo.default_path()).locate('8.8.8.0').country)"
    )
    where, version, geo_db, country = subprocess.run(
        [python, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert Path(where).is_relative_to(venv) and version == __version__  # the wheel's, not ours
    assert Path(geo_db).is_relative_to(venv) and country == "US"
    shown = subprocess.run(
        [str(venv / "bin" / "openrum"), "--version"], env=env, capture_output=True, text=True
    )
    assert shown.stdout.strip() == f"openrum {__version__}"

    server = serve(venv, tmp_path / "data", env)
    site = Site()
    site.start()
    try:
        status, _, body = server.request("GET", "/healthz", auth=False)
        assert status == 200 and json.loads(body) == {"status": "ok", "version": __version__}
        status, _, body = server.request("GET", "/metrics")
        assert f'openrum_build_info{{version="{__version__}"}} 1' in body.decode()
        status, _, agent = server.request("GET", "/openrum.js", auth=False)
        assert status == 200
        assert agent == (ROOT / "openrum" / "collect" / "static" / "openrum.js").read_bytes()

        # A page with the snippet: the agent from the wheel sends a beacon the server stores.
        create_app(server, "shop", site.origin)
        url = site.add("/", page(snippet(server.url, "shop"), "<h1>Fresh coffee</h1>"))
        context = browser.new_context()
        shop = context.new_page()
        shop.goto(url)
        shop.wait_for_function("window.openrum !== undefined")
        shop.goto("about:blank")  # pagehide: the agent sends its beacon
        views = poll(
            lambda: query(server, "shop", ["count"]), lambda r: r and r[0]["count"] >= 1, 30
        )
        assert views and views[0]["count"] == 1

        # The dashboard from the wheel: sign in, the overview counts that page view.
        errors: list[str] = []
        dash = context.new_page()
        dash.on("pageerror", lambda e: errors.append(str(e)))
        dash.goto(server.url + "/")
        expect(dash).to_have_url(server.url + "/login?next=/")
        dash.fill("#password", PASSWORD)
        dash.click("button[type=submit]")
        dash.wait_for_selector("nav a[aria-current=page]", state="attached")  # signed in
        # Headless Chromium is tagged synthetic: the overview counts it with the switch on.
        dash.goto(f"{server.url}/#/overview?app=shop&range=1h&users=all")
        card = dash.locator(".card", has_text="Page views").locator(".kpi .value")
        expect(card).to_have_text("1", timeout=20000)
        assert errors == []
        context.close()
    finally:
        site.stop()
        stop_server(server)
    log = server.log.read_text()
    assert "Traceback" not in log and "no geo database" not in log
