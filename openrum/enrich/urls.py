"""URL normalisation and page grouping (Uptrends rules, ../RUM.md "URLs").

* ``strip_url``: the URL as stored — query and fragment dropped unless the application keeps them,
  session tokens (``;jsessionid=…`` and friends, also as query parameters) removed.
* ``page_of``: the page group — scheme and host ignored, ``//`` collapsed, all-numeric and GUID
  segments → ``***``, long numbers (> 4 digits) and GUIDs inside segments → ``***``
  (``/coupon-12345`` → ``/coupon-***``); the fragment is part of the page only for hash routing.

Which fragments are kept (``keep_fragment``): ``routes`` — those of hash routers, starting with
``/`` or ``!/`` (``#/orders/12``, ``#!/cart``), not ``#section`` anchors — ``all`` or ``none``
(``True`` and ``False`` mean ``all`` and ``none``).
* ``PageGroups``: an application's own ordered rules (glob or regex) applied to the page.
* ``PageCap``: at most ``max_pages`` distinct pages per application, the rest "Other".

All functions are pure and idempotent (property-tested).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

PLACEHOLDER = "***"
OTHER = "Other"
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_LONG_NUMBER = re.compile(r"\d{5,}")
# Dynatrace strips these from names and URLs (../RUM.md "User actions"), as path parameters
# (";jsessionid=…") and as query parameters.
_TOKENS = "jsessionid|sessionid|phpsessid|aspsessionid|cfid|cftoken"
_SESSION_TOKEN = re.compile(rf";({_TOKENS})=[^/;?#]*", re.IGNORECASE)
_SESSION_PARAM = re.compile(rf"(^|&)({_TOKENS})=[^&]*", re.IGNORECASE)
_SLASHES = re.compile(r"/{2,}")
_ROUTE = re.compile(r"!?/")


def keeps(fragment: str, keep_fragment: bool | str) -> bool:
    """Whether ``fragment`` (without ``#``) is kept: a route, or any with ``all``/True."""
    if keep_fragment is True or keep_fragment == "all":
        return bool(fragment)
    return keep_fragment == "routes" and _ROUTE.match(fragment) is not None


@functools.lru_cache(maxsize=65_536)
def strip_url(url: str, keep_query: bool = False, keep_fragment: bool | str = False) -> str:
    """The URL as stored: query and fragment dropped unless kept, session tokens removed."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    path = _SESSION_TOKEN.sub("", parts.path) or "/"
    out = f"{parts.scheme}://{parts.netloc}{path}" if parts.netloc else path
    if keep_query and parts.query:
        query = _SESSION_PARAM.sub("", parts.query).lstrip("&")
        if query:
            out += "?" + query
    if keep_fragment and keeps(parts.fragment, keep_fragment):
        out += "#" + parts.fragment
    return out


def _segment(seg: str) -> str:
    if seg.isdigit() or _GUID.fullmatch(seg):
        return PLACEHOLDER
    return _LONG_NUMBER.sub(PLACEHOLDER, _GUID.sub(PLACEHOLDER, seg))


@functools.lru_cache(maxsize=65_536)
def page_of(url: str, keep_fragment: bool | str = False) -> str:
    """The page group of a URL: its path with ids replaced by ``***``; scheme and host ignored."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return OTHER
    path = _SLASHES.sub("/", _SESSION_TOKEN.sub("", parts.path)) or "/"
    if not path.startswith("/"):
        path = "/" + path
    page = "/".join(_segment(seg) for seg in path.split("/"))
    if keep_fragment and keeps(parts.fragment, keep_fragment):
        # Hash routing: the fragment is a route; its ids are placeholders too.
        frag = _SLASHES.sub("/", parts.fragment.split("?", 1)[0])
        page += "#" + "/".join(_segment(seg) for seg in frag.split("/"))
    return page


def _glob(pattern: str) -> re.Pattern[str]:
    """``*`` matches within one path segment, ``**`` across segments; the rest is literal."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


@dataclass(frozen=True)
class PageGroups:
    """An application's page-group rules, first match wins: ``(pattern, group name)``.

    A pattern is a glob (``/products/*``, ``/docs/**``) or, prefixed with ``re:``, a regular
    expression; it must match the whole page.
    """

    rules: tuple[tuple[re.Pattern[str], str], ...] = ()

    @classmethod
    def parse(cls, rules: Iterable[Mapping[str, Any]]) -> PageGroups:
        """Build from app config ``[{"pattern": "/products/*", "group": "/products/{id}"}]``.

        Raises ValueError for a rule without a pattern or group, or a bad regular expression.
        """
        out = []
        for rule in rules:
            pattern, group = rule.get("pattern"), rule.get("group")
            if not isinstance(pattern, str) or not isinstance(group, str) or not group:
                raise ValueError(f"a page group rule needs a pattern and a group: {rule!r}")
            try:
                compiled = re.compile(pattern[3:]) if pattern.startswith("re:") else _glob(pattern)
            except re.error as e:
                raise ValueError(f"page group pattern {pattern!r}: {e}") from None
            out.append((compiled, group))
        return cls(tuple(out))

    def apply(self, page: str) -> str:
        """The group of the first rule that matches ``page``, else the page itself."""
        for pattern, group in self.rules:
            if pattern.fullmatch(page):
                return group
        return page


class PageCap:
    """At most ``limit`` distinct pages per application; later new pages count as "Other".

    Stateful by nature: it remembers the pages it has let through (seeded from the store at
    start). With several collector processes each keeps its own set, so the cap holds per process.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.pages: dict[str, set[str]] = {}

    def seed(self, app: str, pages: Sequence[str]) -> None:
        """Pages already stored for ``app``."""
        self.pages.setdefault(app, set()).update(pages)

    def admit(self, app: str, page: str, limit: int | None = None) -> str:
        """``page`` if it is known or there is room for it, else "Other"."""
        known = self.pages.setdefault(app, set())
        if page in known:
            return page
        if len(known) >= (self.limit if limit is None else limit):
            return OTHER
        known.add(page)
        return page
