"""Client addresses, masked before anything keeps them (../RUM.md "IP, location, user agent").

The default is Dynatrace's: IPv4 last octet zeroed, IPv6 last 80 bits zeroed. Levels as Uptrends
offers them: 0 keeps the address, 1 zeroes one IPv4 octet, 2 zeroes two.
"""

from __future__ import annotations

import functools
import ipaddress


@functools.lru_cache(maxsize=65_536)
def mask_ip(address: str, level: int = 1) -> str:
    """The address with its last octets (IPv4) or last 80 bits (IPv6) zeroed; '' if not an IP.

    IPv4-mapped IPv6 addresses (``::ffff:203.0.113.9``) are treated as the IPv4 address.
    """
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if level <= 0:
        return str(ip)
    if isinstance(ip, ipaddress.IPv4Address):
        bits = 8 * min(level, 4)
        return str(ipaddress.IPv4Address(int(ip) >> bits << bits))
    bits = 80 if level == 1 else 96
    return str(ipaddress.IPv6Address(int(ip) >> bits << bits))
