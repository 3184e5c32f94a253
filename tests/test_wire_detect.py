"""Application detection over the wire: a real `openrum serve` process with detection rules
accepts beacons without an application id, files them under the detected application, keeps the
detected application's origin check, and refuses (counted) what no rule matches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.beacons import beacon, encode, load_action
from tests.conftest import UA_CHROME, LiveServer, start_server, stop_server
from tests.test_wire import raw_request, wait_for

RULES = "shop.example/checkout/**=checkout,shop.example=shop,ghost.example=ghost"
HEADERS = {"content-type": "text/plain", "user-agent": UA_CHROME}


@pytest.fixture
def detecting_server(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(tmp_path / "data", env={"OPENRUM_APP_DETECTION_RULES": RULES})
    for app, origin in (("shop", "https://shop.example"), ("checkout", "https://shop.example")):
        server.cli("apps", "create", app, "--id", app, "--origin", origin, "--json")
    yield server
    stop_server(server)


def anonymous(url: str) -> bytes:
    """A beacon without an application id, from the page at ``url``."""
    return encode(beacon("", url=url, events=[load_action(url=url)]))


@pytest.mark.parametrize(
    ("url", "origin", "status", "reason"),
    [
        ("https://shop.example/products/1", "https://shop.example", 202, ""),
        ("https://shop.example/checkout/pay", "https://shop.example", 202, ""),
        ("https://shop.example/products/2", None, 202, ""),  # no Origin: no origin to check
        ("https://shop.example/products/3", "https://evil.example", 403, "origin_not_allowed"),
        ("https://other.example/", "https://other.example", 403, "app_not_detected"),
        ("https://ghost.example/", "https://ghost.example", 403, "unknown_app"),  # no such app
    ],
)
def test_a_beacon_without_an_app_is_checked_as_its_detected_app(
    detecting_server: LiveServer, url: str, origin: str | None, status: int, reason: str
) -> None:
    headers = {**HEADERS, **({"origin": origin} if origin else {})}
    got = raw_request(detecting_server, "POST", "/api/v1/beacon", anonymous(url), headers)
    assert got == (status, reason)
    if reason:
        _, _, metrics = detecting_server.request("GET", "/metrics")
        assert f'openrum_beacons_rejected_total{{reason="{reason}"}} 1' in metrics.decode()


def test_detected_beacons_are_stored_under_their_app(detecting_server: LiveServer) -> None:
    origin = {**HEADERS, "origin": "https://shop.example"}
    for url in (
        "https://shop.example/products/1",
        "https://shop.example/checkout/pay",
        "https://shop.example/checkout/pay?step=2",
    ):
        got = raw_request(detecting_server, "POST", "/api/v1/beacon", anonymous(url), origin)
        assert got == (202, "")
    body = {"metrics": ["count"], "dimensions": ["page"]}
    wait_for(detecting_server, {**body, "app": "shop"}, [{"page": "/products/***", "count": 1}])
    wait_for(detecting_server, {**body, "app": "checkout"}, [{"page": "/checkout/pay", "count": 2}])
