"""Per-application rules of the batch step: settings defaults, overridden by an app's ``config``.

An application's ``config`` (``PATCH``-free JSON stored with the app) may hold any of these keys
(docs/enrichment.md):

```json
{"bots": "tag", "synthetic": "drop", "ip_mask_level": 2,
 "keep_query": false, "keep_fragment": "routes", "max_pages": 5000,
 "page_groups": [{"pattern": "/products/*", "group": "/products/{id}"}],
 "apdex": {"load": {"t": 2000, "f": 8000, "metric": "lcp"}, "xhr": {"t": 1000, "f": 4000}},
 "apdex_error_frustrates": true,
 "key_actions": {"click on \\"Pay now\\" on page /checkout": {"t": 1500, "f": 6000}},
 "ux": {"last_action_frustrates": false, "rage_clicks": true}}
```

Also application detection: beacons that name no application are assigned by ordered
``PATTERN=APP`` rules over ``host/path`` (``detect_app``), else the default application.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import msgspec

from openrum.collect.beacon import Beacon
from openrum.enrich.urls import PageGroups, _glob
from openrum.scoring import ux
from openrum.scoring.apdex import ACTION_TYPES, Thresholds
from openrum.settings import FRAGMENT_MODES, Settings


@dataclass(frozen=True)
class AppRules:
    """Everything the batch step decides per application."""

    drop_bots: bool
    drop_synthetic: bool
    ip_mask_level: int
    keep_query: bool
    keep_fragment: str  # routes, all or none (enrich/urls.py)
    max_pages: int
    mask_personal: bool
    page_groups: PageGroups
    apdex: dict[str, Thresholds]  # per action type
    apdex_error_frustrates: bool
    key_actions: dict[str, Thresholds] = field(default_factory=dict)  # by action name
    ux: ux.Options = ux.DEFAULT


def _mode(value: Any, name: str) -> bool:
    if value not in ("drop", "tag"):
        raise ValueError(f"{name} must be 'drop' or 'tag', not {value!r}")
    return bool(value == "drop")


def fragment_mode(value: Any, default: str) -> str:
    """An application's ``keep_fragment``: routes, all or none (true and false, as stored before,
    mean all and none); ``default`` when unset. Raises ValueError for anything else."""
    if value is None:
        return default
    mode = {True: "all", False: "none"}.get(value, value) if isinstance(value, bool) else value
    if mode not in FRAGMENT_MODES:
        raise ValueError(f"keep_fragment must be one of {', '.join(FRAGMENT_MODES)}, not {value!r}")
    return str(mode)


def ux_options(settings: Settings, override: Mapping[str, Any] | None = None) -> ux.Options:
    """UX score options from settings, with an application's ``ux`` overrides."""
    base = {
        "action_weight": settings.ux_action_weight,
        "error_weight": settings.ux_error_weight,
        "rage_click_weight": settings.ux_rage_click_weight,
        "crash_weight": settings.ux_crash_weight,
        "frustrating_share": settings.ux_frustrating_share,
        "satisfying_share": settings.ux_satisfying_share,
        "last_action_frustrates": settings.ux_last_action_frustrates,
        "rage_clicks": settings.ux_rage_clicks,
    }
    try:
        return msgspec.convert({**base, **(override or {})}, ux.Options)
    except msgspec.ValidationError as e:
        raise ValueError(f"ux options: {e}") from None


def rules_for(config: Mapping[str, Any], settings: Settings) -> AppRules:
    """The rules of one application. Raises ValueError naming a bad config value."""
    load = Thresholds(
        settings.apdex_load_t_ms, settings.apdex_load_f_ms, settings.apdex_load_metric
    )
    xhr = Thresholds(settings.apdex_xhr_t_ms, settings.apdex_xhr_f_ms, settings.apdex_xhr_metric)
    defaults = {"load": load, "custom": load, "xhr": xhr, "route_change": xhr}
    apdex = dict(defaults)
    for kind, spec in (config.get("apdex") or {}).items():
        if kind not in ACTION_TYPES:
            valid = ", ".join(ACTION_TYPES)
            raise ValueError(f"apdex: unknown action type {kind!r}; valid: {valid}")
        base = defaults[kind]
        apdex[kind] = Thresholds(
            float(spec.get("t", base.t)),
            float(spec.get("f", base.f)),
            spec.get("metric", base.metric),
        )
    keys = {}
    for name, spec in (config.get("key_actions") or {}).items():
        keys[str(name)] = Thresholds(
            float(spec["t"]), float(spec["f"]), spec.get("metric", "duration")
        )
    return AppRules(
        drop_bots=_mode(config.get("bots", settings.bot_traffic), "bots"),
        drop_synthetic=_mode(config.get("synthetic", settings.synthetic_traffic), "synthetic"),
        # An application may mask more than the collector did, never less (it is gone).
        ip_mask_level=max(int(config.get("ip_mask_level", 0)), settings.ip_mask_level),
        keep_query=bool(config.get("keep_query", settings.keep_query)),
        keep_fragment=fragment_mode(config.get("keep_fragment"), settings.keep_fragment),
        max_pages=int(config.get("max_pages", settings.max_pages)),
        mask_personal=bool(config.get("mask_personal_data", settings.mask_personal_data)),
        page_groups=PageGroups.parse(config.get("page_groups") or []),
        apdex=apdex,
        apdex_error_frustrates=bool(
            config.get("apdex_error_frustrates", settings.apdex_error_frustrates)
        ),
        key_actions=keys,
        ux=ux_options(settings, config.get("ux")),
    )


class Detector:
    """Application detection for beacons without an application id.

    Rules are ``PATTERN=APP``, tried in order; a pattern is a glob over ``host/path`` (``*``
    within a segment or host label run, ``**`` across): ``shop.example`` matches every URL on
    that host, ``*.example.org/blog/**`` the blog on every subdomain. The origin's host is used
    when the URL has none. No match: the default application ('' = none, the beacon drops).
    Raises ValueError for a rule without '='.
    """

    def __init__(self, rules: Iterable[str], default: str = "") -> None:
        parsed: list[tuple[re.Pattern[str], str]] = []
        for rule in rules:
            pattern, sep, app = rule.rpartition("=")
            if not sep or not pattern or not app:
                raise ValueError(f"app detection rule {rule!r}: use PATTERN=APP")
            pattern = pattern.strip().lower()
            if "/" not in pattern:
                pattern += "/**"
            parsed.append((_glob(pattern), app.strip()))
        self.rules = tuple(parsed)
        self.default = default
        self.detect = functools.lru_cache(maxsize=4096)(self._detect)

    def _detect(self, url: str, origin: str | None) -> str:
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "") or (urlsplit(origin).hostname or "" if origin else "")
        except ValueError:
            return self.default
        target = f"{host.lower()}{parts.path or '/'}"
        for pattern, app in self.rules:
            if pattern.fullmatch(target):
                return app
        return self.default


def page_url(beacon: Beacon) -> str:
    """The URL a beacon without an application id is detected by: the page's URL when sent,
    else its first event's."""
    return beacon.url or next((e.url for e in beacon.events if e.url), "")


def detect_app(url: str, origin: str | None, rules: Iterable[str], default: str = "") -> str:
    """The application of a beacon without an id (see ``Detector``); '' when none."""
    return Detector(rules, default).detect(url, origin)
