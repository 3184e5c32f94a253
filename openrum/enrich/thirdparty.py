"""third_party: whose is a resource or script — first party (the application's origins and the
page's own) or third party, and which known provider it belongs to.

The providers are the entities of ``third-party-web`` (Patrick Hulce, MIT licence,
https://github.com/patrickhulce/third-party-web), written to ``third_parties.json`` by the agent's
build (agent/third_parties.mjs): a name, a category (ad, analytics, cdn, tag-manager, social,
customer-success, …) and the domains, ``*.example.com`` covering every subdomain.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from urllib.parse import urlsplit

import msgspec


class Provider(msgspec.Struct, frozen=True):
    name: str
    category: str


@functools.cache
def _providers() -> tuple[dict[str, Provider], dict[str, Provider]]:
    """(exact domain → provider, domain whose subdomains are all the provider's → provider)."""
    text = (importlib.resources.files("openrum.enrich") / "third_parties.json").read_text()
    exact: dict[str, Provider] = {}
    below: dict[str, Provider] = {}
    for name, category, domains in json.loads(text)["providers"]:
        p = Provider(name, category)
        for d in domains:
            if d.startswith("*."):
                below.setdefault(d[2:], p)
                exact.setdefault(d[2:], p)
            else:
                exact.setdefault(d, p)
    return exact, below


@functools.lru_cache(maxsize=4096)
def provider(host: str) -> Provider | None:
    """The known provider serving ``host`` (a host name, lower case), or None."""
    exact, below = _providers()
    found = exact.get(host)
    if found is not None:
        return found
    labels = host.split(".")
    for i in range(1, len(labels) - 1):
        found = below.get(".".join(labels[i:]))
        if found is not None:
            return found
    return None


@functools.lru_cache(maxsize=4096)
def origin_of(url: str) -> tuple[str, str] | None:
    """(origin ``scheme://host[:port]``, host) of an absolute http(s) URL, or None."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    default = 443 if parts.scheme == "https" else 80
    netloc = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{netloc}" + (f":{port}" if port and port != default else ""), host


def party(origin: str, first: frozenset[str]) -> str:
    """``first`` when ``origin`` is one of the first-party origins, else ``third``."""
    return "first" if origin in first else "third"
