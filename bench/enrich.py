"""Enrichment throughput on one core (``python -m bench.enrich``), written to docs/benchmarks.md.

A realistic mix: 1,000+ distinct real-world-looking user agents drawn Zipf-like (a few browsers
carry most traffic, a long tail of versions, devices and bots), 5,000 client addresses, 20,000
URLs with ids (Zipf-like), 300 error messages with personal data. Two measures, both with warm caches:

* per event: the Python rules one event needs (user agent + Client Hints, mask the address,
  locate it, normalise and mask the URL) — what the batch step would cost if it ran them per
  event;
* the batch step as it runs (``Pipeline.run`` on batches of ``write_max_events`` events, a chunk
  of beacons at a time: beacons decoded once, Python rules once per distinct value, measures
  checked a column at a time with Arrow), its speed and its memory, and the same with each
  batch enriched whole.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import random
import statistics
import time
from typing import Any

import msgspec

from bench.harness import reset_peak, rss_mb
from bench.report import machine, write_section
from openrum.collect.spool import Raw
from openrum.enrich import ua as uamod
from openrum.enrich.geo import open_locator
from openrum.enrich.ip import mask_ip
from openrum.enrich.personal import mask_personal, mask_url
from openrum.enrich.pipeline import Pipeline
from openrum.enrich.urls import page_of, strip_url
from openrum.settings import Settings

_WINDOWS = ("Windows NT 10.0; Win64; x64", "Windows NT 6.1; Win64; x64", "Windows NT 10.0; WOW64")
_MACS = ("Macintosh; Intel Mac OS X 10_15_7", "Macintosh; Intel Mac OS X 10_14_6")
_LINUX = ("X11; Linux x86_64", "X11; Ubuntu; Linux x86_64", "X11; CrOS x86_64 14541.0.0")
_ANDROID = (
    "Linux; Android 10; K", "Linux; Android 14; Pixel 8", "Linux; Android 13; SM-S918B",
    "Linux; Android 12; SM-A536B", "Linux; Android 11; Redmi Note 8 Pro", "Linux; Android 14; SM-X710",
    "Linux; Android 13; moto g power (2022)", "Linux; Android 9; SM-J730F",
)  # fmt: skip
_IOS = ("18_1", "18_0", "17_6", "17_5", "16_7", "15_8")
_BOTS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "curl/8.5.0",
    "python-requests/2.32.3",
)


def user_agents() -> list[str]:
    """Distinct user agent strings in rough order of real-world popularity."""
    out: list[str] = []
    for v in range(131, 99, -1):
        for plat in (*_WINDOWS, *_MACS, *_LINUX):
            out.append(
                f"Mozilla/5.0 ({plat}) AppleWebKit/537.36 (KHTML, like Gecko) "
                f"Chrome/{v}.0.0.0 Safari/537.36"
            )
        for dev in _ANDROID:
            out.append(
                f"Mozilla/5.0 ({dev}) AppleWebKit/537.36 (KHTML, like Gecko) "
                f"Chrome/{v}.0.0.0 Mobile Safari/537.36"
            )
        out.append(
            f"Mozilla/5.0 ({_WINDOWS[0]}) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.0.0"
        )
    for ios, minor in itertools.product(_IOS, range(4)):
        major = ios.split("_")[0]
        for device in ("iPhone; CPU iPhone OS", "iPad; CPU OS"):
            out.append(
                f"Mozilla/5.0 ({device} {ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
                f"Gecko) Version/{major}.{minor} Mobile/15E148 Safari/604.1"
            )
    for v in range(133, 100, -1):
        for plat in (*_WINDOWS, *_MACS, *_LINUX):
            out.append(f"Mozilla/5.0 ({plat}; rv:{v}.0) Gecko/20100101 Firefox/{v}.0")
        out.append(f"Mozilla/5.0 (Android 14; Mobile; rv:{v}.0) Gecko/{v}.0 Firefox/{v}.0")
    for v in range(27, 15, -1):
        for dev in _ANDROID:
            out.append(
                f"Mozilla/5.0 ({dev}) AppleWebKit/537.36 (KHTML, like Gecko) "
                f"SamsungBrowser/{v}.0 Chrome/122.0.0.0 Mobile Safari/537.36"
            )
    out.extend(_BOTS)
    out.extend(
        f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"HeadlessChrome/{v}.0.0.0 Safari/537.36"
        for v in range(131, 110, -1)
    )
    return list(dict.fromkeys(out))


def zipf(n: int, s: float = 1.1) -> list[float]:
    return [1 / (rank**s) for rank in range(1, n + 1)]


def _events(rng: random.Random, n: int, agents: list[str]) -> list[tuple[str, str, str, str]]:
    weights = zipf(len(agents))
    ips = [f"{rng.randrange(1, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
           for _ in range(5000)]  # fmt: skip
    paths = ["/", "/products/{}", "/search", "/cart", "/checkout", "/blog/post-{}", "/u/{}/orders"]
    # Pages and products are Zipf-like too; error messages repeat (a few hundred distinct).
    urls = [
        "https://shop.example" + path.format(10_000 + i) + "?utm=x"
        for i in range(20_000)
        for path in (paths[i % len(paths)],)
    ]
    messages = [f"Order {rng.randrange(10**6)} failed for user{i}@example.com" for i in range(300)]
    chosen = rng.choices(agents, weights, k=n)
    where = rng.choices(urls, zipf(len(urls), 0.9), k=n)
    what = rng.choices(messages, zipf(len(messages)), k=n)
    return [
        (ua, rng.choice(ips), url, msg) for ua, url, msg in zip(chosen, where, what, strict=True)
    ]


def per_event(events: list[tuple[str, str, str, str]], parser: uamod.Parser, locate: Any) -> float:
    """Seconds to run the Python rules on every event (one at a time)."""
    began = time.perf_counter()
    for ua, ip, url, message in events:
        parser.parse(ua, None)
        locate(mask_ip(ip))
        stripped = strip_url(url)
        page_of(stripped)
        mask_url(stripped)
        mask_personal(message)
    return time.perf_counter() - began


def _raws(rng: random.Random, events: list[tuple[str, str, str, str]]) -> list[Raw]:
    now = int(time.time() * 1000)
    raws = []
    for i in range(0, len(events), 5):
        chunk = events[i : i + 5]
        body = {
            "v": 1, "app": "shop", "sid": f"s{i // 20}", "page": f"p{i}", "sent": now, "seq": 1,
            "url": chunk[0][2], "env": {"conn": "4g"},
            "events": [
                {"kind": "action", "id": f"a{j}", "type": "load", "start": now - 5000,
                 "url": url, "duration": rng.uniform(300, 8000),
                 "vitals": {"lcp": {"id": f"l{j}", "value": rng.uniform(500, 6000)}}}
                if j % 5 else
                {"kind": "error", "id": f"e{j}", "type": "js", "time": now - 4000,
                 "message": message, "url": url}
                for j, (_, _, url, message) in enumerate(chunk)
            ],
        }  # fmt: skip
        raws.append(Raw(msgspec.json.encode(body), len(chunk), now, chunk[0][1], chunk[0][0]))
    return raws


EVENTS_PER_BEACON = 5  # as ``_raws`` makes them


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})  # one core
    rng = random.Random(4)
    agents = user_agents()
    assert len(agents) >= 1000, len(agents)
    n = 200_000
    events = _events(rng, n, agents)
    distinct = len({e[0] for e in events})
    settings = Settings.load({}, environ={})
    locator = open_locator(settings.geoip_path, settings.geo_networks)
    # Uncached cost of a parse (the first sight of each string).
    parser = uamod.Parser(settings.ua_cache_size)
    began = time.perf_counter()
    for ua in agents:
        parser.parse(ua, None)
    cold_us = (time.perf_counter() - began) / len(agents) * 1e6
    per_event(events, parser, locator.locate)  # warm every cache
    warm = min(per_event(events, parser, locator.locate) for _ in range(3))
    hits, misses, size = parser.info()
    # The batch step as the writer runs it, on batches of write_max_events events: the median of
    # 5 runs over 100,000 events, wall clock and the process's CPU time (this machine is shared:
    # the CPU time is what one core does); and the memory a batch takes (the peak of the process's
    # RSS above its RSS before the run). Enriched a chunk of beacons at a time (the default), then
    # the whole batch at once.
    raws = _raws(rng, events[:100_000])
    per_batch = settings.write_max_events // EVENTS_PER_BEACON
    batches = [raws[i : i + per_batch] for i in range(0, len(raws), per_batch)]
    total = sum(r.events for r in raws)
    runs = {}
    for chunk in (settings.batch_step_chunk_beacons, per_batch):
        pipeline = Pipeline(
            dataclasses.replace(settings, batch_step_chunk_beacons=chunk), locator=locator
        )
        pipeline.run(batches[0])  # warm
        walls, cpus, peaks = [], [], []
        for _ in range(5):
            before = reset_peak()
            began, cpu = time.perf_counter(), time.process_time()
            for b in batches:
                pipeline.run(b)
            walls.append(time.perf_counter() - began)
            cpus.append(time.process_time() - cpu)
            peaks.append(rss_mb(os.getpid(), "VmHWM", children=False) - before)
        runs[chunk] = (
            total / statistics.median(walls),
            total / statistics.median(cpus),
            max(peaks),
        )
    rate_batch, rate_cpu, peak_mb = runs[settings.batch_step_chunk_beacons]
    whole_batch, whole_cpu, whole_mb = runs[per_batch]
    rate_event = n / warm
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{len(agents)} agents, {distinct} drawn; per event {rate_event:,.0f}/s; "
          f"batch step {rate_batch:,.0f} events/s wall, {rate_cpu:,.0f} events/s CPU, "
          f"{peak_mb:.0f} MB (whole batches: {whole_batch:,.0f}, {whole_cpu:,.0f}, "
          f"{whole_mb:.0f} MB); "
          f"cold parse {cold_us:.0f} µs")  # fmt: skip
    write_section(
        "enrich",
        f"""## Enrichment (`python -m bench.enrich`)

{machine()}, pinned to one core. {n:,} events whose user agents are drawn Zipf-like (s = 1.1)
from {len(agents):,} distinct real-world-looking strings ({distinct:,} of them drawn: Chrome,
Edge, Firefox, Safari, Samsung Internet on desktop, phones and tablets, bots, headless browsers),
5,000 client addresses, 20,000 URLs with ids (Zipf-like) and 300 error messages with emails and
order numbers.

| measure | value |
|---|---:|
| user agent parse, first sight (ua-parser + Rust matcher) | {cold_us:,.0f} µs |
| per event, warm caches: UA + mask IP + locate + URL rules + personal data masking | **{rate_event:,.0f} events/s** ({1e6 / rate_event:.2f} µs/event) |
| the batch step (`Pipeline.run`, batches of {settings.write_max_events:,} events enriched {settings.batch_step_chunk_beacons:,} beacons at a time, geo from the shipped country database), per CPU second of the process | **{rate_cpu:,.0f} events/s** |
| the same, per wall-clock second (median of 5 runs; the machine's other work counts against it: load average {load:.1f} at the end) | {rate_batch:,.0f} events/s |
| the memory a batch takes (peak RSS above the RSS before it) | {peak_mb:,.0f} MB |
| the batch enriched whole: per CPU second / per wall-clock second / memory | {whole_cpu:,.0f} / {whole_batch:,.0f} events/s / {whole_mb:,.0f} MB |
| UA cache after the run: hits / misses / entries | {hits:,} / {misses:,} / {size:,} |

Target: ≥ 100,000 events/s with a warm cache on one core. The batch step decodes each beacon
with msgspec, runs the Python rules once per *distinct* value (user agent, address, URL, text),
and checks and scores the actions' measures a column at a time with Arrow compute.
""",
    )


if __name__ == "__main__":
    main()
