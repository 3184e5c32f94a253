"""User agents → browser, OS, device type and user type; Client Hints win where more precise."""

from __future__ import annotations

import pytest

from openrum.enrich.ua import Agent, Hints, Parser, hints_of, parse

CHROME_WIN = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
EDGE = CHROME_WIN + " Edg/131.0.0.0"


@pytest.mark.parametrize(
    ("ua", "expected"),
    [
        (CHROME_WIN, ("Chrome", "131.0", "Windows", "10", "desktop", "real")),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
            ("Firefox", "133.0", "Windows", "10", "desktop", "real"),
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Version/18.1 Safari/605.1.15",
            ("Safari", "18.1", "Mac OS X", "10.15", "desktop", "real"),
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
            "like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
            ("Mobile Safari", "18.1", "iOS", "18.1", "mobile", "real"),
        ),
        (CHROME_ANDROID, ("Chrome Mobile", "131.0", "Android", "10", "mobile", "real")),
        (
            "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
            ("Mobile Safari", "18.1", "iOS", "18.1", "tablet", "real"),
        ),
        (
            "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36",
            ("Chrome", "131.0", "Android", "13", "tablet", "real"),  # Android without "Mobile"
        ),
        (
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            ("Googlebot", "2.1", None, None, "bot", "bot"),
        ),
        (
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
            ("bingbot", "2.0", None, None, "bot", "bot"),
        ),
        ("curl/8.5.0", ("curl", "8.5", None, None, "bot", "bot")),
        ("python-requests/2.32.3", ("Python Requests", "2.32", None, None, "bot", "bot")),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "HeadlessChrome/120.0.0.0 Safari/537.36",
            ("HeadlessChrome", "120.0", "Linux", None, "desktop", "synthetic"),
        ),
        (
            "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like "
            "Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
            ("Chrome Mobile", "131.0", "Android", "11", "mobile", "synthetic"),
        ),
        ("", (None, None, None, None, "other", "real")),
    ],
)
def test_parse(ua: str, expected: tuple[str | None, ...]) -> None:
    a = parse(ua)
    assert (a.browser, a.browser_version, a.os, a.os_version, a.device, a.user_type) == expected


@pytest.mark.parametrize(
    ("ua", "hints", "expected"),
    [
        # Chrome's reduced UA says Windows 10; platformVersion 13+ is Windows 11.
        (
            CHROME_WIN,
            Hints(
                ("Not_A Brand/24.0.0.0", "Google Chrome/131.0.6778.86"), False, "Windows", "15.0.0"
            ),
            ("Chrome", "131.0", "Windows", "11", "desktop"),
        ),
        (
            CHROME_WIN,
            Hints(("Google Chrome/131.0.6778.86",), False, "Windows", "10.0.0"),
            ("Chrome", "131.0", "Windows", "10", "desktop"),
        ),
        # The reduced Android UA says "Android 10; K"; the hints know the real version.
        (
            CHROME_ANDROID,
            Hints(("Google Chrome/131.0.6778.86",), True, "Android", "14.0.0", "Pixel 8"),
            ("Chrome Mobile", "131.0", "Android", "14", "mobile"),
        ),
        (
            CHROME_WIN,
            Hints(
                ("Chromium/131.0.6778.86", "Google Chrome/131.0.6778.86"), False, "macOS", "14.5.0"
            ),
            ("Chrome", "131.0", "Mac OS X", "14.5", "desktop"),
        ),
        (
            EDGE,
            Hints(
                ("Microsoft Edge/131.0.2903.70", "Chromium/131.0.6778.86"),
                False,
                "Windows",
                "19.0.0",
            ),
            ("Edge", "131.0", "Windows", "11", "desktop"),
        ),
        # An Android tablet reports mobile=false.
        (
            CHROME_ANDROID.replace(" Mobile", ""),
            Hints(("Google Chrome/131.0.6778.86",), False, "Android", "14.0.0"),
            ("Chrome", "131.0", "Android", "14", "tablet"),
        ),
    ],
)
def test_client_hints_win(ua: str, hints: Hints, expected: tuple[str | None, ...]) -> None:
    a = parse(ua, hints)
    assert (a.browser, a.browser_version, a.os, a.os_version, a.device) == expected


def test_hints_of_the_beacon() -> None:
    assert hints_of(None, None, None, None, None) is None
    assert hints_of(["A/1"], True, "Android", "14", "P") == Hints(
        ("A/1",), True, "Android", "14", "P"
    )


def test_the_cache_serves_repeats() -> None:
    p = Parser(16)
    first = p.parse(CHROME_WIN, None)
    assert p.parse(CHROME_WIN, None) is first
    hits, misses, size = p.info()
    assert (hits, misses, size) == (1, 1, 1)
    assert isinstance(first, Agent)
