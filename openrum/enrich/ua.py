"""User agent → browser, OS, device type and user type, with ua-parser behind an LRU cache.

ua-parser's rules (``ua-parser-builtins``) run on its Rust matcher (``ua-parser-rs``): about a
millisecond for an unseen string here. Real traffic repeats a few thousand strings, so
``Parser`` keeps the results in an LRU cache: a repeated string costs a dictionary look-up
(``bench/enrich``).

User-Agent Client Hints (``env.uach``, sent by Chromium browsers) win over the UA string where
they are more precise: Chrome's reduced UA string freezes the OS version (Windows "10", Android
"10", macOS "10.15.7"). See https://wicg.github.io/ua-client-hints/ and
https://www.chromium.org/updates/ua-reduction/.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

import msgspec
import ua_parser

DESKTOP, MOBILE, TABLET, BOT, OTHER = "desktop", "mobile", "tablet", "bot", "other"
REAL, SYNTHETIC = "real", "synthetic"


class Agent(msgspec.Struct, frozen=True):
    """What a user agent string (and its Client Hints) says about the client."""

    browser: str | None
    browser_version: str | None
    os: str | None
    os_version: str | None
    device: str  # desktop, mobile, tablet, bot, other
    user_type: str  # real, bot, synthetic


class Hints(msgspec.Struct, frozen=True):
    """The Client Hints the agent sends (beacon ``env.uach``), as a hashable value."""

    brands: tuple[str, ...] = ()  # "Brand/full.version"
    mobile: bool | None = None
    platform: str | None = None
    platform_version: str | None = None
    model: str | None = None


_MOBILE_OS = frozenset({"Android", "iOS", "Windows Phone", "KaiOS", "BlackBerry OS", "Firefox OS"})
_TABLET = re.compile(r"iPad|Tablet|Kindle|Silk/|PlayBook|SM-[TXP]\d|Nexus (?:7|9|10)\b|Tab\b")
# Crawlers ua-parser does not call "Spider", and HTTP libraries (no browser sends these).
_BOT = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|facebookexternalhit|embedly|preview|curl/|wget/|"
    r"python-requests|python-urllib|aiohttp|go-http-client|java/|okhttp|libwww|httpclient|"
    r"scrapy|headless_shell",
    re.IGNORECASE,
)
# Synthetic monitoring and lab tools: real browsers driven by a robot.
_SYNTHETIC = re.compile(
    r"HeadlessChrome|PhantomJS|Lighthouse|PTST/|GTmetrix|Selenium|RuxitSynthetic|"
    r"DynatraceSynthetic|Uptrends|Pingdom|Catchpoint|Site24x7|StatusCake|Datadog Synthetic|"
    r"Playwright|Puppeteer|Electron/.+ HeadlessChrome",
)
# Client Hints brand → ua-parser's family name; GREASE brands ("Not A;Brand") are ignored.
_BRANDS = {
    "Google Chrome": "Chrome",
    "Microsoft Edge": "Edge",
    "Opera": "Opera",
    "Opera GX": "Opera",
    "Brave": "Brave",
    "Samsung Internet": "Samsung Internet",
    "YaBrowser": "Yandex Browser",
    "Vivaldi": "Vivaldi",
}
_PLATFORMS = {"macOS": "Mac OS X", "Chrome OS": "Chrome OS", "Chromium OS": "Chrome OS"}


def _version(*parts: str | None) -> str | None:
    kept = [p for p in parts if p]
    return ".".join(kept) if kept else None


def _major_minor(version: str | None, keep_zero: bool = False) -> str | None:
    """ "131.0.6778.86" → "131.0" (as ua-parser spells browsers); "14.0.0" → "14" unless kept."""
    if not version:
        return None
    parts = version.split(".")
    if parts[1:2] and (keep_zero or parts[1] != "0"):
        return f"{parts[0]}.{parts[1]}"
    return parts[0] or None


def _hinted_os(h: Hints) -> tuple[str | None, str | None]:
    """(OS family, version) from the platform hints, in ua-parser's names."""
    if not h.platform:
        return None, None
    family = _PLATFORMS.get(h.platform, h.platform)
    v = h.platform_version
    if family == "Windows" and v:
        # platformVersion 13+ is Windows 11, 1-10 is Windows 10, 0 is 7/8/8.1:
        # https://learn.microsoft.com/microsoft-edge/web-platform/how-to-detect-win11
        major = int(v.split(".")[0]) if v.split(".")[0].isdigit() else -1
        return family, "11" if major >= 13 else ("10" if major > 0 else None)
    return family, _major_minor(v)


def _hinted_browser(h: Hints) -> tuple[str | None, str | None]:
    """(browser family, major version) of the most specific brand."""
    chromium: tuple[str, str | None] | None = None
    for entry in h.brands:
        name, _, version = entry.rpartition("/")
        name = name or version
        if name in _BRANDS:
            return _BRANDS[name], _major_minor(version, keep_zero=True)
        if name == "Chromium":
            chromium = ("Chromium", _major_minor(version, keep_zero=True))
    return chromium if chromium else (None, None)


def analyse(ua: str, hints: Hints | None = None) -> Agent:
    """Parse a user agent string and its Client Hints (uncached: about 1 ms for a new string)."""
    r = ua_parser.parse(ua)
    browser = r.user_agent.family if r.user_agent else None
    browser_version = _version(r.user_agent.major, r.user_agent.minor) if r.user_agent else None
    os_family = r.os.family if r.os else None
    os_version = _version(r.os.major, r.os.minor) if r.os else None
    if hints is not None:
        b, bv = _hinted_browser(hints)
        if b and (
            browser in (None, "Other", "Chrome", "Chrome Mobile", "Chromium") or b == browser
        ):
            browser = b + (" Mobile" if b == "Chrome" and hints.mobile else "")
            browser_version = bv or browser_version
        o, ov = _hinted_os(hints)
        if o:
            os_family, os_version = o, ov or (os_version if o == os_family else None)
    device_family = r.device.family if r.device else None
    if device_family == "Spider" or (_BOT.search(ua) and not _SYNTHETIC.search(ua)):
        device, user_type = BOT, "bot"
    else:
        user_type = SYNTHETIC if _SYNTHETIC.search(ua) else REAL
        if _TABLET.search(ua) or (
            os_family == "Android"
            and "Mobile" not in ua
            and (hints is None or hints.mobile is not True)
        ):
            device = TABLET
        elif (hints is not None and hints.mobile) or os_family in _MOBILE_OS or "Mobile" in ua:
            device = MOBILE
        elif os_family is None and browser in (None, "Other"):
            device = OTHER
        else:
            device = DESKTOP
    return Agent(
        browser=browser if browser != "Other" else None,
        browser_version=browser_version if browser != "Other" else None,
        os=os_family if os_family != "Other" else None,
        os_version=os_version if os_family != "Other" else None,
        device=device,
        user_type=user_type,
    )


class Parser:
    """``analyse`` behind an LRU cache of ``size`` entries (keyed by the string and its hints)."""

    def __init__(self, size: int = 65_536) -> None:
        self.parse: Callable[[str, Hints | None], Agent] = functools.lru_cache(maxsize=size)(
            analyse
        )

    def info(self) -> tuple[int, int, int]:
        """(hits, misses, current size) of the cache."""
        i = self.parse.cache_info()  # type: ignore[attr-defined]
        return int(i.hits), int(i.misses), int(i.currsize)


_default = Parser()


def parse(ua: str, hints: Hints | None = None) -> Agent:
    """Parse with the process-wide cache."""
    return _default.parse(ua, hints)


def hints_of(
    brands: Sequence[str] | None,
    mobile: bool | None,
    platform: str | None,
    platform_version: str | None,
    model: str | None,
) -> Hints | None:
    """A ``Hints`` value from the beacon's fields; None when the agent sent none."""
    if not brands and mobile is None and not platform and not platform_version:
        return None
    return Hints(tuple(brands or ()), mobile, platform, platform_version, model)
