"""URL rules (RUM.md "URLs", Uptrends): one row per rule, and idempotence as a property."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openrum.enrich.urls import OTHER, PageCap, PageGroups, page_of, strip_url


@pytest.mark.parametrize(
    ("url", "page"),
    [
        ("https://shop.example/products/12345", "/products/***"),  # all-numeric segment
        ("http://shop.example/products/12345", "/products/***"),  # scheme ignored
        ("https://shop.example/coupon-12345", "/coupon-***"),  # RUM.md's example
        ("https://shop.example/order/1234", "/order/***"),  # short but all-numeric
        ("https://shop.example/v2/item1234", "/v2/item1234"),  # 4 digits inside: kept
        ("https://x.example/u/123e4567-e89b-12d3-a456-426614174000/p", "/u/***/p"),  # GUID
        ("https://x.example/file-123e4567-e89b-12d3-a456-426614174000.pdf", "/file-***.pdf"),
        ("https://x.example//a///b", "/a/b"),  # // collapsed
        ("https://x.example/a?q=1#frag", "/a"),  # query and fragment dropped
        ("https://x.example/cart;jsessionid=ABC123", "/cart"),  # session token stripped
        ("https://x.example/cart;CFID=1;CFTOKEN=2", "/cart"),
        ("https://x.example", "/"),
        ("", "/"),
        ("/relative/777", "/relative/***"),
    ],
)
def test_page_of(url: str, page: str) -> None:
    assert page_of(url) == page


def test_the_fragment_is_the_route_with_hash_routing() -> None:
    assert page_of("https://spa.example/#/orders/12345?x=1", keep_fragment=True) == "/#/orders/***"
    assert page_of("https://spa.example/#/orders/12345") == "/"


@pytest.mark.parametrize(
    ("url", "mode", "page"),
    [
        # routes (the default): the fragments of hash routers, not anchors
        ("https://spa.example/app#/orders/12345", "routes", "/app#/orders/***"),
        ("https://spa.example/app#!/cart", "routes", "/app#!/cart"),
        ("https://docs.example/guide#top", "routes", "/guide"),
        ("https://docs.example/guide#section-2/x", "routes", "/guide"),
        ("https://docs.example/guide#", "routes", "/guide"),
        ("https://spa.example/app#/orders/12345", "none", "/app"),
        ("https://docs.example/guide#top", "all", "/guide#top"),
        ("https://docs.example/guide#top", True, "/guide#top"),  # as stored before: all
        ("https://spa.example/app#/x", False, "/app"),  # as stored before: none
    ],
)
def test_which_fragments_are_routes(url: str, mode: bool | str, page: str) -> None:
    assert page_of(url, mode) == page
    # The stored URL keeps the fragment exactly when the page does.
    assert ("#" in strip_url(url, False, mode)) == ("#" in page)


@pytest.mark.parametrize(
    ("url", "keep_query", "keep_fragment", "stored"),
    [
        ("https://x.example/a?q=1#f", False, False, "https://x.example/a"),
        ("https://x.example/a?q=1#f", True, False, "https://x.example/a?q=1"),
        ("https://x.example/a?q=1#f", True, True, "https://x.example/a?q=1#f"),
        ("https://x.example/a?jsessionid=9&q=1", True, False, "https://x.example/a?q=1"),
        ("https://x.example/a;jsessionid=9", False, False, "https://x.example/a"),
    ],
)
def test_strip_url(url: str, keep_query: bool, keep_fragment: bool, stored: str) -> None:
    assert strip_url(url, keep_query, keep_fragment) == stored


@pytest.mark.parametrize(
    ("rules", "page", "group"),
    [
        ([{"pattern": "/products/*", "group": "Product"}], "/products/***", "Product"),
        ([{"pattern": "/products/*", "group": "Product"}], "/products/a/b", "/products/a/b"),
        ([{"pattern": "/docs/**", "group": "Docs"}], "/docs/a/b/c", "Docs"),
        (
            [{"pattern": "/a/*", "group": "first"}, {"pattern": "/a/**", "group": "second"}],
            "/a/x",
            "first",  # first match wins
        ),
        ([{"pattern": "re:/blog/\\d{4}/.*", "group": "Blog"}], "/blog/2026/post", "Blog"),
    ],
)
def test_page_groups(rules: list[dict[str, str]], page: str, group: str) -> None:
    assert PageGroups.parse(rules).apply(page) == group


def test_bad_page_group_rules_explain_themselves() -> None:
    with pytest.raises(ValueError, match="pattern and a group"):
        PageGroups.parse([{"pattern": "/a"}])
    with pytest.raises(ValueError, match="page group pattern"):
        PageGroups.parse([{"pattern": "re:(", "group": "x"}])


def test_page_cap_keeps_known_pages_and_counts_the_rest_as_other() -> None:
    cap = PageCap(10_000)
    assert all(cap.admit("shop", f"/p{i}") == f"/p{i}" for i in range(10_000))
    assert cap.admit("shop", "/new") == OTHER
    assert cap.admit("shop", "/p42") == "/p42"  # known pages keep passing
    assert cap.admit("blog", "/new") == "/new"  # per application
    cap.seed("blog", ["/a", "/b"])
    assert cap.admit("blog", "/c", limit=3) == OTHER


_url = st.builds(
    lambda scheme, host, segs, q: f"{scheme}://{host}/" + "/".join(segs) + q,
    st.sampled_from(["http", "https"]),
    st.sampled_from(["shop.example", "x.example:8080"]),
    st.lists(
        st.one_of(
            st.text("abc-_.0123456789", max_size=12),
            st.integers(0, 10**12).map(str),
            st.uuids().map(str),
            st.just(";jsessionid=x"),
        ),
        max_size=6,
    ),
    st.sampled_from(["", "?q=1", "#frag", "?a=1#b"]),
)


@given(_url, st.booleans())
def test_normalisation_is_idempotent(url: str, keep_fragment: bool) -> None:
    page = page_of(url, keep_fragment)
    assert page_of(page, keep_fragment) == page
    stored = strip_url(url)
    assert strip_url(stored) == stored
