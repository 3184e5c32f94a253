"""One version: openrum/__init__.py's, shown by `openrum --version`, GET /healthz, /metrics, the
package's metadata, and named by CHANGELOG.md's newest release heading (docs/install.md)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from openrum import __version__
from tests.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[1]
# Keep a Changelog: "## [1.2.0] - 2026-12-24"; "## [Unreleased]" is not a release.
RELEASE = re.compile(r"^## \[(\d+\.\d+\.\d+[^\]]*)\]", re.MULTILINE)
FIRST = "0.1.0"


def changelog_version(text: str) -> str:
    """The newest release the changelog names; before the first release, the first version."""
    releases = RELEASE.findall(text)
    return releases[0] if releases else FIRST


def test_the_changelog_reading_finds_the_newest_release() -> None:
    text = "# Changelog\n\n## [Unreleased]\n\n## [0.3.0] - 2027-02-01\n\n## [0.2.1] - 2027-01-05\n"
    assert changelog_version(text) == "0.3.0"
    assert changelog_version("# Changelog\n\n## [Unreleased]\n### Added\n- x\n") == FIRST


def test_the_package_takes_its_version_from_openrum_init() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "openrum.__version__"}


def test_the_changelog_names_this_version() -> None:
    assert changelog_version((ROOT / "CHANGELOG.md").read_text()) == __version__


def test_cli_healthz_and_metrics_show_the_version(live_server: LiveServer) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "openrum", "--version"], capture_output=True, check=True, timeout=60
    )
    assert out.stdout.decode().strip() == f"openrum {__version__}"
    status, _, body = live_server.request("GET", "/healthz", auth=False)
    assert status == 200 and json.loads(body)["version"] == __version__
    status, _, body = live_server.request("GET", "/metrics")
    assert status == 200
    assert f'openrum_build_info{{version="{__version__}"}} 1' in body.decode().splitlines()
