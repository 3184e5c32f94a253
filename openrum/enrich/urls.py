"""URL normalisation and page grouping (Uptrends rules, ../RUM.md "URLs")."""

from __future__ import annotations

import functools
import re
from urllib.parse import urlsplit

PLACEHOLDER = "***"
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_LONG_NUMBER = re.compile(r"\d{5,}")
_SESSION_TOKEN = re.compile(r";(jsessionid|sessionid|cfid|cftoken)=[^/;?#]*", re.IGNORECASE)


def strip_url(url: str, keep_query: bool = False, keep_fragment: bool = False) -> str:
    """The URL as stored: query and fragment dropped unless kept, session tokens removed."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    path = _SESSION_TOKEN.sub("", parts.path) or "/"
    out = f"{parts.scheme}://{parts.netloc}{path}" if parts.netloc else path
    if keep_query and parts.query:
        out += "?" + parts.query
    if keep_fragment and parts.fragment:
        out += "#" + parts.fragment
    return out


@functools.lru_cache(maxsize=65_536)
def page_of(url: str, keep_fragment: bool = False) -> str:
    """The page group of a URL: host + path, ids replaced by a placeholder, scheme ignored."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "Other"
    path = re.sub(r"/{2,}", "/", _SESSION_TOKEN.sub("", parts.path)) or "/"
    segments = []
    for seg in path.split("/"):
        if seg.isdigit() or _GUID.fullmatch(seg):
            seg = PLACEHOLDER
        else:
            seg = _LONG_NUMBER.sub(PLACEHOLDER, _GUID.sub(PLACEHOLDER, seg))
        segments.append(seg)
    page = "/".join(segments)
    if keep_fragment and parts.fragment:
        page += "#" + parts.fragment
    return page
