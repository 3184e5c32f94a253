"""third_party: origins and known providers (the third-party-web list shipped as data)."""

from __future__ import annotations

import pytest

from openrum.enrich.thirdparty import origin_of, party, provider


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("www.google-analytics.com", ("Google Analytics", "analytics")),
        ("fonts.gstatic.com", ("Google Fonts", "cdn")),
        ("www.googletagmanager.com", ("Google Tag Manager", "tag-manager")),
        ("connect.facebook.net", ("Facebook", "social")),
        ("shop.example", None),
        ("com", None),
    ],
)
def test_known_providers(host: str, expected: tuple[str, str] | None) -> None:
    found = provider(host)
    assert (found and (found.name, found.category)) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://Shop.Example/a.js?x=1", ("https://shop.example", "shop.example")),
        ("https://shop.example:443/a.js", ("https://shop.example", "shop.example")),
        ("http://127.0.0.1:8080/w.js", ("http://127.0.0.1:8080", "127.0.0.1")),
        ("http://[::1]:81/w.js", ("http://[::1]:81", "::1")),
        ("chrome-extension://abc/x.js", None),
        ("/relative.js", None),
        ("https://bad:port/x", None),
    ],
)
def test_origins(url: str, expected: tuple[str, str] | None) -> None:
    assert origin_of(url) == expected


def test_parties() -> None:
    first = frozenset({"https://shop.example"})
    assert party("https://shop.example", first) == "first"
    assert party("https://cdn.shop.example", first) == "third"
