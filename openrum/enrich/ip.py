"""Client addresses: which one is the client's, and masked before anything keeps it.

../RUM.md "IP, location, user agent":

* The client address is the socket peer — or, only when the peer is a configured trusted proxy,
  the first untrusted address from an ordered list of headers (``X-Forwarded-For`` read right to
  left, ``Forwarded`` (RFC 7239), ``X-Real-IP``, ``CF-Connecting-IP``, ``True-Client-IP``).
  Anyone can send these headers: from an untrusted peer they are ignored. An address inside the
  beacon body is never used.
* Masking is Dynatrace's default: IPv4 last octet zeroed, IPv6 last 80 bits zeroed. Levels as
  Uptrends offers them: 0 keeps the address, 1 zeroes one IPv4 octet, 2 zeroes two.
* IPv4-mapped IPv6 addresses (``::ffff:203.0.113.9``) are treated as the IPv4 address.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Sequence

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_HEADERS = (
    "x-forwarded-for",
    "forwarded",
    "x-real-ip",
    "cf-connecting-ip",
    "true-client-ip",
)


def parse_ip(text: str) -> Address | None:
    """An address from header or socket text: brackets, ports and zone ids stripped; IPv4-mapped
    IPv6 as IPv4; None when it is not an address."""
    s = text.strip().strip('"')
    if s.startswith("["):  # [v6] or [v6]:port
        s = s[1 : s.find("]")] if "]" in s else s[1:]
    elif s.count(":") == 1:  # v4:port
        s = s.split(":", 1)[0]
    s = s.split("%", 1)[0]
    try:
        ip = ipaddress.ip_address(s)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


@functools.lru_cache(maxsize=65_536)
def mask_ip(address: str, level: int = 1) -> str:
    """The address with its last octets (IPv4) or last 80 bits (IPv6) zeroed; '' if not an IP.

    Level 0 keeps the address, 1 zeroes the last IPv4 octet (IPv6: 80 bits), 2 two octets (IPv6:
    96 bits). Idempotent: masking a masked address changes nothing.
    """
    ip = parse_ip(address)
    if ip is None:
        return ""
    if level <= 0:
        return str(ip)
    if isinstance(ip, ipaddress.IPv4Address):
        bits = 8 * min(level, 4)
        return str(ipaddress.IPv4Address(int(ip) >> bits << bits))
    bits = 80 if level == 1 else 96
    return str(ipaddress.IPv6Address(int(ip) >> bits << bits))


def _forwarded_for(value: str) -> list[str]:
    """The ``for=`` values of an RFC 7239 ``Forwarded`` header, in order."""
    out = []
    for element in value.split(","):
        for pair in element.split(";"):
            name, _, v = pair.strip().partition("=")
            if name.strip().lower() == "for":
                out.append(v.strip())
    return out


class ClientAddress:
    """Resolves the client's address from the socket peer and, behind trusted proxies, headers.

    ``trusted``: addresses or CIDR networks of the proxies in front of OpenRUM. ``headers``: the
    header names to read, in order of preference (lower case).
    Raises ValueError for a trusted entry that is not an address or network.
    """

    def __init__(self, trusted: Iterable[str], headers: Sequence[str] = DEFAULT_HEADERS) -> None:
        nets: list[Network] = []
        for entry in trusted:
            try:
                nets.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise ValueError(f"trusted proxy {entry!r} is not an address or network") from None
        self.networks = tuple(nets)
        self.headers = tuple(h.strip().lower() for h in headers if h.strip())
        self.header_bytes = frozenset(h.encode("latin-1") for h in self.headers)

    @functools.lru_cache(maxsize=4096)  # noqa: B019 -- one instance per process
    def trusted(self, address: str) -> bool:
        """Whether ``address`` is one of the trusted proxies."""
        if not self.networks:
            return False
        ip = parse_ip(address)
        return ip is not None and any(ip in net for net in self.networks)

    def resolve(self, peer: str, found: Sequence[tuple[bytes, bytes]] = ()) -> str:
        """The client's address (normalised text; '' when none is valid).

        ``found``: the request's ``(name, value)`` header pairs among ``header_bytes`` (lower-case
        names, as ASGI gives them). Read only when ``peer`` is a trusted proxy.
        """
        if not found or not self.trusted(peer):
            ip = parse_ip(peer)
            return str(ip) if ip is not None else ""
        values: dict[str, list[str]] = {}
        for name, value in found:
            values.setdefault(name.decode("latin-1"), []).append(value.decode("latin-1"))
        for header in self.headers:
            if header not in values:
                continue
            joined = ",".join(values[header])
            if header == "forwarded":
                chain = _forwarded_for(joined)
            elif header == "x-forwarded-for":
                chain = joined.split(",")
            else:  # a single address, set by the proxy itself
                chain = joined.split(",")[:1]
            client = self._first_untrusted(chain)
            if client is not None:
                return client
        ip = parse_ip(peer)
        return str(ip) if ip is not None else ""

    def _first_untrusted(self, chain: Sequence[str]) -> str | None:
        """Right to left: the first address that is not a trusted proxy. A chain of trusted
        proxies only gives its leftmost address; an invalid entry ends the walk (None)."""
        last: Address | None = None
        for entry in reversed(chain):
            ip = parse_ip(entry)
            if ip is None:
                return None
            last = ip
            if not any(ip in net for net in self.networks):
                return str(ip)
        return str(last) if last is not None else None
