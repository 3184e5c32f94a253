"""``openrum demo``: realistic synthetic traffic, sent through the real batch step into the store.

Sessions follow a daily rhythm over the last D days. Browser, OS, device, country, connection and
page mixes are skewed like real traffic; timings are log-normal with medians that differ by
segment (mobile, slow networks and far countries are slower) and by release (2026.11.2 carries a
regression in LCP and errors). Sessions mix page loads, SPA route changes, xhr actions, custom
actions, JavaScript and request errors, rage clicks and user tags.
"""

from __future__ import annotations

import argparse
import functools
import ipaddress
import math
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import msgspec

from openrum.collect.beacon import (
    Action,
    Beacon,
    ClientHints,
    Env,
    Error,
    Event,
    UserEvent,
    Vital,
)
from openrum.collect.spool import Raw
from openrum.enrich import pipeline
from openrum.settings import Settings
from openrum.store import default_url, open_store
from openrum.store.base import App, Store

T = TypeVar("T")
DEMO_ORIGIN = "https://shop.example"

# (user agent, device, weight); Client Hints are added for Chromium browsers.
USER_AGENTS: tuple[tuple[str, str, float], ...] = (
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "desktop",
        26,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36",
        "desktop",
        6,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        "desktop",
        7,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "desktop",
        5,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.1 Safari/605.1.15",
        "desktop",
        7,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "desktop",
        6,
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "desktop",
        2,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "mobile",
        15,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
        "mobile",
        4,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Mobile Safari/537.36",
        "mobile",
        14,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
        "mobile",
        3,
    ),
    ("Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", "mobile", 1),
    (
        "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.1 Mobile/15E148 Safari/604.1",
        "tablet",
        4,
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "tablet",
        1,
    ),
)

# (country code, weight, network latency factor)
COUNTRIES: tuple[tuple[str, float, float], ...] = (
    ("US", 30, 1.0),
    ("DE", 10, 0.9),
    ("GB", 8, 0.9),
    ("IN", 8, 1.9),
    ("FR", 6, 0.95),
    ("BR", 5, 1.6),
    ("JP", 4, 1.2),
    ("CA", 4, 1.0),
    ("NL", 3, 0.85),
    ("AU", 3, 1.4),
    ("ES", 3, 1.0),
    ("IT", 3, 1.05),
    ("MX", 2, 1.5),
    ("PL", 2, 1.0),
    ("SE", 2, 0.9),
    ("ZA", 1.5, 1.8),
    ("NG", 1, 2.4),
    ("KR", 1.5, 1.0),
    ("SG", 1, 1.1),
    ("AR", 1, 1.7),
)

# Example addresses per country for the demo. Replaced by real look-ups once a geo database is
# installed (the enrichment step resolves whatever address arrives).
_COUNTRY_NETS: dict[str, str] = {}

CONNECTIONS = (("4g", 78), ("3g", 12), ("2g", 2), (None, 8))  # None: browser does not say
CONNECTION_FACTOR = {"4g": 1.0, "3g": 2.3, "2g": 5.0, None: 1.0}
DEVICE_FACTOR = {"desktop": 1.0, "mobile": 1.7, "tablet": 1.35}

# (release, first day it is live as a fraction of the period, LCP factor, error factor)
RELEASES = (
    ("2026.11.1", 0.0, 1.0, 1.0),
    ("2026.11.2", 0.45, 1.35, 2.5),
    ("2026.11.3", 0.75, 0.95, 0.8),
)

# page template → (weight as landing page, base load median ms, CLS base)
PAGES: dict[str, tuple[float, float, float]] = {
    "/": (40, 1400, 0.02),
    "/products": (8, 1700, 0.05),
    "/products/{id}": (25, 1900, 0.08),
    "/search": (10, 1500, 0.03),
    "/blog/{slug}": (12, 1300, 0.15),
    "/cart": (2, 1200, 0.02),
    "/checkout": (1, 2100, 0.04),
    "/account": (2, 1600, 0.01),
}
NEXT_PAGES = (
    "/products",
    "/products/{id}",
    "/products/{id}",
    "/search",
    "/cart",
    "/checkout",
    "/account",
    "/",
)
CLICKS = {
    "/products/{id}": ("Add to cart", 900),
    "/cart": ("Update quantity", 600),
    "/checkout": ("Pay now", 2400),
    "/search": ("Search", 700),
    "/account": ("Save", 800),
}
JS_ERRORS = (
    (
        "TypeError",
        "Cannot read properties of undefined (reading 'price')",
        "at renderPrice (https://shop.example/static/app.3f2a.js:1:48213)\n"
        "at ProductCard (https://shop.example/static/app.3f2a.js:1:50122)",
    ),
    ("ReferenceError", "gtag is not defined", "at https://shop.example/static/analytics.js:12:5"),
    ("Error", "ResizeObserver loop completed with undelivered notifications", ""),
    (
        "TypeError",
        "Failed to fetch",
        "at loadRecommendations (https://shop.example/static/app.3f2a.js:1:77301)",
    ),
)


def _weighted(rng: random.Random, items: Sequence[T], weights: Sequence[float]) -> T:
    return rng.choices(items, weights)[0]


def _lognormal(rng: random.Random, median: float, sigma: float = 0.45) -> float:
    return median * math.exp(rng.gauss(0, sigma))


def ip_for(country: str, rng: random.Random) -> str:
    """A client address for a demo visitor from ``country``: an address of one of the country's
    IPv4 networks in the shipped geo database (enrich/geo.py), so the map has data."""
    nets = _country_networks().get(country)
    if not nets:
        # Documentation range (RFC 5737): resolves to no location.
        return f"203.0.113.{rng.randrange(1, 255)}"
    network = nets[rng.randrange(len(nets))]
    return str(network[rng.randrange(1, max(network.num_addresses - 1, 2))])


@functools.cache
def _country_networks(per_country: int = 64) -> dict[str, list[ipaddress.IPv4Network]]:
    """Up to ``per_country`` IPv4 networks (/24 or larger) per demo country, from the database
    ``make geo`` installs; empty when it is not installed. Read once per process."""
    from openrum.enrich.geo import default_path

    wanted = {c for c, _, _ in COUNTRIES}
    found: dict[str, list[ipaddress.IPv4Network]] = {c: [] for c in wanted}
    try:
        import maxminddb

        reader = maxminddb.open_database(str(default_path()))
    except (OSError, ValueError):
        return {}
    with reader:
        for network, record in reader:
            code = record.get("country_code") if isinstance(record, dict) else None
            if code not in wanted or network.version != 4 or network.prefixlen > 24:
                continue
            bucket = found[str(code)]
            if len(bucket) < per_country:
                bucket.append(network)
                if len(bucket) == per_country:
                    wanted.discard(str(code))
                    if not wanted:
                        break
    return found


@dataclass
class Visitor:
    ua: str
    device: str
    country: str
    country_factor: float
    connection: str | None
    ip: str


def _visitor(rng: random.Random) -> Visitor:
    ua, device, _ = _weighted(rng, USER_AGENTS, [w for *_, w in USER_AGENTS])
    country, _, factor = _weighted(rng, COUNTRIES, [w for _, w, _ in COUNTRIES])
    conn = _weighted(rng, [c for c, _ in CONNECTIONS], [w for _, w in CONNECTIONS])
    return Visitor(ua, device, country, factor, conn, ip_for(country, rng))


def _concrete(template: str, rng: random.Random) -> str:
    return template.replace("{id}", str(rng.randrange(1000, 99999))).replace(
        "{slug}",
        rng.choice(
            ["fast-pages", "web-vitals-101", "holiday-sale", "shipping-guide", "sizing-chart"]
        ),
    )


def _release(fraction: float, rng: random.Random) -> tuple[str, float, float]:
    live = [r for r in RELEASES if r[1] <= fraction]
    # A new release rolls out over a while: some users still run the previous one.
    name, _, lcp, err = live[-1] if len(live) == 1 or rng.random() < 0.8 else live[-2]
    return name, lcp, err


def _session(rng: random.Random, n: int, start_ms: int, fraction: float, app: str) -> Iterator[Raw]:
    v = _visitor(rng)
    release, release_lcp, release_err = _release(fraction, rng)
    sid = f"demo-{n:07d}-{rng.getrandbits(32):08x}"
    slow = DEVICE_FACTOR[v.device] * v.country_factor * CONNECTION_FACTOR[v.connection]
    env = Env(
        vw=390 if v.device == "mobile" else 1440,
        vh=844 if v.device == "mobile" else 900,
        conn=v.connection,
        release=release,
        dpr=3.0 if v.device == "mobile" else 1.0,
        uach=ClientHints(
            brands=["Chromium"],
            mobile=v.device == "mobile",
            platform="Android" if "Android" in v.ua else "Windows",
        )
        if "Chrome/" in v.ua and "Edg" not in v.ua
        else None,
    )
    tagged = f"customer-{rng.randrange(1, 5000)}" if rng.random() < 0.3 else None
    template = _weighted(rng, list(PAGES), [p[0] for p in PAGES.values()])
    clock = start_ms
    page_views = 1 + min(int(rng.expovariate(0.45)), 9)
    for pv in range(page_views):
        if pv:
            template = rng.choice(NEXT_PAGES)
        url = DEMO_ORIGIN + _concrete(template, rng)
        _, base, cls_base = PAGES[template]
        events: list[Event] = []
        load_id = "a0"
        ttfb = _lognormal(rng, 180 * v.country_factor * CONNECTION_FACTOR[v.connection], 0.5)
        dns = _lognormal(rng, 12 * v.country_factor, 0.8) if pv == 0 else 0.0
        tcp = _lognormal(rng, 25 * v.country_factor, 0.6) if pv == 0 else 0.0
        request_start = 2 + dns + tcp * 1.6
        response_start = request_start + ttfb
        response_end = response_start + _lognormal(rng, 40 * slow, 0.6)
        dom_interactive = response_end + _lognormal(rng, base * 0.35 * slow, 0.4)
        dcl = dom_interactive + _lognormal(rng, 30, 0.5)
        dom_complete = dcl + _lognormal(rng, base * 0.25 * slow, 0.5)
        load_end = dom_complete + _lognormal(rng, 15, 0.5)
        fcp = response_end + _lognormal(rng, base * 0.3 * slow, 0.4)
        lcp = max(fcp, fcp + _lognormal(rng, base * 0.35 * slow * release_lcp, 0.5))
        cls = max(0.0, rng.expovariate(1 / cls_base) if rng.random() < 0.7 else 0.0)
        inp = _lognormal(rng, 90 * DEVICE_FACTOR[v.device], 0.6)
        nt = {
            "fetchStart": 1.0,
            "domainLookupStart": 2.0,
            "domainLookupEnd": 2 + dns,
            "connectStart": 2 + dns,
            "secureConnectionStart": 2 + dns + tcp * 0.6,
            "connectEnd": 2 + dns + tcp * 1.6,
            "requestStart": request_start,
            "responseStart": response_start,
            "responseEnd": response_end,
            "domInteractive": dom_interactive,
            "domContentLoadedEventEnd": dcl,
            "domComplete": dom_complete,
            "loadEventStart": load_end - 5,
            "loadEventEnd": load_end,
        }
        nt = {k: round(val, 1) for k, val in nt.items()}
        vid = f"{n}-{pv}"
        vitals = {
            "ttfb": Vital(id=f"t-{vid}", value=round(response_start, 1)),
            "fcp": Vital(id=f"f-{vid}", value=round(fcp, 1)),
            "lcp": Vital(
                id=f"l-{vid}",
                value=round(lcp, 1),
                target=rng.choice(["img.hero", "h1", "div.product-image>img", "p"]),
            ),
            "cls": Vital(
                id=f"c-{vid}",
                value=round(cls, 4),
                target=rng.choice(["div.banner", "section#reviews", "img.ad"]),
            ),
        }
        if rng.random() < 0.8:
            vitals["inp"] = Vital(
                id=f"i-{vid}",
                value=round(inp),
                target=rng.choice(["button#add-to-cart", "a.nav-link", "input#search"]),
                phase={
                    "input_delay": round(inp * 0.2),
                    "processing": round(inp * 0.5),
                    "presentation": round(inp * 0.3),
                },
            )
        events.append(
            Action(
                id=load_id,
                type="load",
                start=clock,
                url=url,
                duration=round(load_end, 1),
                nt=nt,
                vitals=vitals,
                long_tasks=int(rng.expovariate(1 / (1.5 * slow))),
                long_task_ms=round(_lognormal(rng, 60 * slow, 0.7), 1),
            )
        )
        t = clock + load_end
        if rng.random() < 0.03 * release_err * (1.5 if v.device == "mobile" else 1):
            name, message, stack = rng.choice(JS_ERRORS)
            events.append(
                Error(
                    id="e0",
                    type="js",
                    time=int(t),
                    message=message,
                    name=name,
                    stack=stack or None,
                    url=url,
                    action=load_id,
                )
            )
        # SPA interactions: route changes and clicks that fetch.
        for i in range(int(rng.expovariate(0.7))):
            t += _lognormal(rng, 9000, 0.9)
            if rng.random() < 0.5:
                link = rng.choice(NEXT_PAGES)
                route = _concrete(link, rng)
                events.append(
                    Action(
                        id=f"r{i}",
                        type="route_change",
                        start=int(t),
                        url=DEMO_ORIGIN + route,
                        trigger=f'click on "{link.split("/")[1].capitalize()}"',  # a nav link
                        duration=round(_lognormal(rng, 450 * slow, 0.6), 1),
                        vitals={"inp": Vital(id=f"ri-{vid}-{i}", value=round(inp * 0.8))},
                        requests=rng.randint(1, 4),
                    )
                )
            elif template in CLICKS:
                label, median = CLICKS[template]
                duration = _lognormal(rng, median * slow * (1.3 if release_err > 1 else 1), 0.6)
                events.append(
                    Action(
                        id=f"x{i}",
                        type="xhr",
                        start=int(t),
                        url=url,
                        name=f'click on "{label}"',
                        duration=round(duration, 1),
                        requests=rng.randint(1, 3),
                    )
                )
                if rng.random() < 0.04 * release_err:
                    status = rng.choice([500, 502, 404, 0])
                    events.append(
                        Error(
                            id=f"q{i}",
                            type="request",
                            time=int(t + duration),
                            url=url,
                            message=f"POST /api/{label.split()[0].lower()} failed with {status}",
                            source=f"{DEMO_ORIGIN}/api/{label.split()[0].lower()}",
                            status=status or None,
                            action=f"x{i}",
                        )
                    )
                if template == "/checkout" and duration > 3000 and rng.random() < 0.5:
                    events.append(
                        UserEvent(
                            id=f"g{i}",
                            type="rage_click",
                            time=int(t + 800),
                            url=url,
                            value=f'button "{label}"',
                            x=640,
                            y=480,
                            count=rng.randint(3, 7),
                        )
                    )
        if rng.random() < 0.01:
            events.append(
                Action(
                    id="c0",
                    type="custom",
                    start=int(t),
                    url=url,
                    name="render product grid",
                    duration=round(_lognormal(rng, 300 * slow), 1),
                )
            )
        if tagged and pv == 0:
            events.append(
                UserEvent(id="tag", type="user_tag", time=int(clock + 50), url=url, value=tagged)
            )
        if pv > 0:
            events.append(UserEvent(id="pc", type="page_change", time=int(clock), url=url))
        sent = int(t + _lognormal(rng, 20000, 0.8))
        beacon = Beacon(
            v=1,
            app=app,
            sid=sid,
            page=f"pv-{vid}",
            sent=sent,
            events=events,
            url=url,
            seq=pv + 1,
            agent="0.1.0",
            env=env,
        )
        body = msgspec.json.encode(beacon)
        yield Raw(body, len(events), sent + rng.randint(20, 400), v.ip, v.ua, DEMO_ORIGIN)
        clock = sent + int(_lognormal(rng, 15000, 1.0))


def traffic(
    sessions: int, days: int, seed: int, app: str, now_ms: int
) -> Iterator[tuple[int, Raw]]:
    """(session number, beacon) for ``sessions`` sessions over the ``days`` days before now."""
    rng = random.Random(seed)
    span = days * 86_400_000
    # More traffic in the (UTC) afternoon and evening, less at night.
    hour_weights = [0.3 + 0.7 * math.sin(math.pi * ((h - 4) % 24) / 24) ** 2 for h in range(24)]
    for n in range(sessions):
        day = rng.randrange(days)
        hour = _weighted(rng, range(24), hour_weights)
        start = now_ms - span + day * 86_400_000 + hour * 3_600_000 + rng.randrange(3_600_000)
        if n >= sessions - max(sessions // 200, 3):
            start = now_ms - rng.randrange(60_000, 600_000)  # a few live sessions right now
        start = min(start, now_ms - 60_000)
        for raw in _session(rng, n, start, (start - now_ms + span) / span, app):
            if raw.received > now_ms:
                continue  # still in the future: not sent yet
            yield n, raw


def ensure_app(store: Store, app_id: str) -> None:
    """Create the demo application unless it exists."""
    if not any(a.id == app_id for a in store.list_apps()):
        store.create_app(
            App(id=app_id, name="Demo Shop", origins=[DEMO_ORIGIN], created=int(time.time() * 1000))
        )


def _progress(done: int, total: int, began: float) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    rate = done / max(time.monotonic() - began, 1e-9)
    sys.stderr.write(
        f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{total} sessions ({rate:,.0f}/s)"
    )
    sys.stderr.flush()


def generate(args: argparse.Namespace) -> int:
    """The `openrum demo` command (the CLI has checked that no server holds the data)."""
    store = open_store(args.store or default_url(Path(args.data)))
    try:
        ensure_app(store, args.app)
        if getattr(args, "if_empty", False):
            _, rows = store.select("SELECT count(*) FROM actions WHERE app = ?", [args.app])
            if rows and rows[0][0]:
                print(f"demo data already loaded for app {args.app!r}")
                return 0
        load(store, Settings.load({}), args.sessions, args.days, args.seed, args.app)
    finally:
        store.close()
    return 0


def load(
    store: Store,
    settings: Settings,
    sessions: int,
    days: int,
    seed: int,
    app: str,
    now_ms: int | None = None,
    progress: bool = True,
) -> int:
    """Generate and store demo traffic; return the number of events stored."""
    now_ms = now_ms or int(time.time() * 1000)
    began = time.monotonic()
    chunk: list[Raw] = []
    stored = 0
    steps = pipeline.Pipeline(settings)
    for n, raw in traffic(sessions, days, seed, app, now_ms):
        chunk.append(raw)
        if len(chunk) >= 2000:
            stored += _write(store, steps, chunk)
            chunk = []
            if progress:
                _progress(n + 1, sessions, began)
    stored += _write(store, steps, chunk)
    steps.close()
    if progress:
        _progress(sessions, sessions, began)
        sys.stderr.write(f"\n  stored {stored:,} events for app {app!r}\n")
    return stored


def _write(store: Store, steps: pipeline.Pipeline, items: list[Raw]) -> int:
    if not items:
        return 0
    batch = steps.run(items)
    store.write(batch)
    return len(batch)
