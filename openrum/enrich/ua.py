"""User agent → browser, OS and device, with ua-parser (Rust matchers) behind an LRU cache."""

from __future__ import annotations

import functools

import msgspec
import ua_parser


class Agent(msgspec.Struct, frozen=True):
    """What a user agent string says about the client."""

    browser: str | None
    browser_version: str | None
    os: str | None
    os_version: str | None
    device: str  # desktop, mobile, tablet, bot, other
    user_type: str  # real, bot, synthetic


_MOBILE_OS = frozenset({"Android", "iOS", "Windows Phone", "KaiOS", "BlackBerry OS"})
_TABLET_HINTS = ("iPad", "Tablet", "Kindle", "Silk/", "SM-T", "Nexus 7", "Nexus 9")


def _version(*parts: str | None) -> str | None:
    kept = [p for p in parts if p]
    return ".".join(kept) if kept else None


@functools.lru_cache(maxsize=65_536)
def parse(ua: str) -> Agent:
    """Parse a user agent string (cached: repeated strings cost a dictionary look-up)."""
    r = ua_parser.parse(ua)
    browser = r.user_agent.family if r.user_agent else None
    os_family = r.os.family if r.os else None
    device_family = r.device.family if r.device else None
    if device_family == "Spider":
        device = "bot"
    elif any(h in ua for h in _TABLET_HINTS) or (os_family == "Android" and "Mobile" not in ua):
        device = "tablet"
    elif os_family in _MOBILE_OS or "Mobile" in ua:
        device = "mobile"
    elif os_family is None and browser in (None, "Other"):
        device = "other"
    else:
        device = "desktop"
    user_type = "bot" if device == "bot" else ("synthetic" if "HeadlessChrome" in ua else "real")
    return Agent(
        browser=browser if browser != "Other" else None,
        browser_version=_version(r.user_agent.major, r.user_agent.minor) if r.user_agent else None,
        os=os_family if os_family != "Other" else None,
        os_version=_version(r.os.major, r.os.minor) if r.os else None,
        device=device,
        user_type=user_type,
    )
