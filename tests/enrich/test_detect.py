"""Application detection rules (enrich/rules.py ``Detector``): ordered globs over host/path."""

from __future__ import annotations

import pytest

from openrum.collect.beacon import Beacon, Error, UserEvent
from openrum.enrich.rules import Detector, page_url

RULES = [
    "shop.example/checkout/**=checkout",  # a section before its host: order matters
    "shop.example=shop",
    "*.example.org/blog/**=blog",
    "Docs.Example=docs",  # patterns are case-insensitive
]


@pytest.mark.parametrize(
    ("url", "origin", "default", "expected"),
    [
        ("https://shop.example/", None, "", "shop"),
        ("https://shop.example/products/1?q=2#x", None, "", "shop"),
        ("https://shop.example/checkout", None, "", "shop"),  # the rule wants a path below
        ("https://shop.example/checkout/pay", None, "", "checkout"),
        ("http://SHOP.example/checkout/pay/now", None, "", "checkout"),  # scheme, case ignored
        ("https://news.example.org/blog/2024/post", None, "", "blog"),
        ("https://a.b.example.org/blog/post", None, "", "blog"),  # * spans labels, not "/"
        ("https://example.org/blog/post", None, "", ""),
        ("https://docs.example/guide", None, "", "docs"),
        ("https://shop.example.evil.com/", None, "", ""),  # no suffix match
        ("https://evil.com/shop.example", None, "", ""),  # the path is not the host
        ("/products/1", "https://shop.example", "", "shop"),  # no host: the origin's
        ("", "https://shop.example", "", "shop"),
        ("", None, "", ""),
        ("https://other.example/", None, "fallback", "fallback"),
        ("http://[::1", None, "fallback", "fallback"),  # not a URL: the default
        ("https://shop.example/", "https://other.example", "", "shop"),  # the URL wins
    ],
)
def test_detection_rules(url: str, origin: str | None, default: str, expected: str) -> None:
    assert Detector(RULES, default).detect(url, origin) == expected


@pytest.mark.parametrize("rule", ["shop.example", "=shop", "shop.example="])
def test_a_rule_without_pattern_and_app_is_refused(rule: str) -> None:
    with pytest.raises(ValueError, match="PATTERN=APP"):
        Detector([rule])


@pytest.mark.parametrize(
    ("url", "events", "expected"),
    [
        ("https://a.example/x", [UserEvent("u", "page_change", 1, url="https://b.example")], "https://a.example/x"),
        ("", [Error("e", "js", 1, "m"), UserEvent("u", "page_change", 1, url="https://b.example")], "https://b.example"),
        ("", [Error("e", "js", 1, "m")], ""),
    ],
)  # fmt: skip
def test_the_page_url_of_a_beacon(url: str, events: list[Error | UserEvent], expected: str) -> None:
    assert page_url(Beacon(1, "", "s", "p", 1, list(events), url=url)) == expected
