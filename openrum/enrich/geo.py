"""Location of a (masked) client address: country, region, city, latitude/longitude (1 decimal).

Reads MaxMind-format (mmdb) databases with ``maxminddb``, in either record layout:

* MaxMind GeoLite2 / GeoIP2 and DB-IP: ``country.iso_code``, ``subdivisions[0].names.en``,
  ``city.names.en``, ``location.latitude`` / ``longitude``;
* ip-location-db (the default, CC0, country level): ``country_code`` and, in its city editions,
  ``state1``, ``city``, ``latitude``, ``longitude``.

The default database is installed by ``make geo`` from the npm package
``@ip-location-db/geo-whois-asn-country-mmdb`` into ``geoip/node_modules`` (a wheel carries a
copy in ``openrum/enrich/geoip/``: docs/install.md); the ``geoip_path``
setting takes any other file (a GeoLite2 City file for city level). Custom CIDR → location
mappings (``geo_networks``) come first: they cover private networks the databases do not know.
Lookups happen on the already masked address (../RUM.md: masking before the lookup).
"""

from __future__ import annotations

import functools
import ipaddress
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import maxminddb
import msgspec

log = logging.getLogger("openrum.geo")

DEFAULT_DB = Path(
    "geoip/node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb"
)


class Place(msgspec.Struct, frozen=True):
    """Where an address is; every field may be unknown."""

    country: str | None = None  # ISO 3166-1 alpha-2
    region: str | None = None
    city: str | None = None
    lat: float | None = None  # rounded to 1 decimal (about 11 km): no street-level precision
    lon: float | None = None


NOWHERE = Place()


def default_path() -> Path:
    """The shipped country database: in the installed package (a wheel's build copies it into
    ``openrum/enrich/geoip/``, see setup.py), else ``geoip/`` beside the package (a source
    checkout), else in the current directory."""
    installed = Path(__file__).resolve().parent / "geoip" / DEFAULT_DB.name
    if installed.is_file():
        return installed
    repo = Path(__file__).resolve().parents[2]
    for base in (repo, Path.cwd()):
        if (base / DEFAULT_DB).is_file():
            return base / DEFAULT_DB
    return repo / DEFAULT_DB


def _round(x: Any) -> float | None:
    return round(float(x), 1) if isinstance(x, (int, float)) else None


def _name(node: Any) -> str | None:
    if isinstance(node, Mapping):
        names = node.get("names")
        if isinstance(names, Mapping):
            en = names.get("en")
            return str(en) if en else None
    return None


def place_of(record: Any) -> Place:
    """A ``Place`` from one mmdb record of either layout (see the module docstring)."""
    if not isinstance(record, Mapping):
        return NOWHERE
    if "country_code" in record:  # ip-location-db
        return Place(
            country=record.get("country_code") or None,
            region=record.get("state1") or None,
            city=record.get("city") or None,
            lat=_round(record.get("latitude")),
            lon=_round(record.get("longitude")),
        )
    country = record.get("country") or record.get("registered_country") or {}
    subdivisions = record.get("subdivisions") or [{}]
    location = record.get("location") or {}
    return Place(
        country=country.get("iso_code") if isinstance(country, Mapping) else None,
        region=_name(subdivisions[0]) if subdivisions else None,
        city=_name(record.get("city")),
        lat=_round(location.get("latitude")) if isinstance(location, Mapping) else None,
        lon=_round(location.get("longitude")) if isinstance(location, Mapping) else None,
    )


def parse_networks(
    entries: Iterable[str],
) -> list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, Place]]:
    """Custom mappings ``CIDR=COUNTRY|REGION|CITY|LAT|LON`` (trailing parts optional), most
    specific network first. Raises ValueError naming a malformed entry."""
    out: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, Place]] = []
    for entry in entries:
        cidr, sep, rest = entry.partition("=")
        try:
            if not sep:
                raise ValueError("missing '='")
            net = ipaddress.ip_network(cidr.strip(), strict=False)
            parts = [p.strip() or None for p in rest.split("|")] + [None] * 5
            place = Place(
                country=parts[0],
                region=parts[1],
                city=parts[2],
                lat=_round(float(parts[3])) if parts[3] else None,
                lon=_round(float(parts[4])) if parts[4] else None,
            )
        except ValueError as e:
            raise ValueError(
                f"geo network {entry!r}: {e} (use CIDR=COUNTRY|REGION|CITY|LAT|LON)"
            ) from None
        out.append((net, place))
    out.sort(key=lambda item: -item[0].prefixlen)
    return out


class Locator:
    """Looks masked addresses up: custom networks first, then the mmdb database (if any).

    ``path`` None or missing: no database (every address is unknown, a warning is logged once).
    """

    def __init__(self, path: str | Path | None, networks: Iterable[str] = ()) -> None:
        self.networks = parse_networks(networks)
        self.reader: Any = None
        self.path = Path(path) if path else None
        if self.path is not None:
            try:
                self.reader = maxminddb.open_database(str(self.path), maxminddb.MODE_MMAP)
            except (OSError, ValueError, maxminddb.InvalidDatabaseError) as e:
                log.warning("no geo database (%s): locations stay unknown; run `make geo`", e)
        self.locate = functools.lru_cache(maxsize=65_536)(self._locate)

    def _locate(self, address: str) -> Place:
        if not address:
            return NOWHERE
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return NOWHERE
        for net, place in self.networks:
            if ip.version == net.version and ip in net:
                return place
        if self.reader is None:
            return NOWHERE
        try:
            record = self.reader.get(address)
        except ValueError:
            return NOWHERE
        return place_of(record)

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None


def open_locator(geoip_path: str, networks: Iterable[str]) -> Locator:
    """The locator the settings describe: ``geoip_path`` or, when empty, the shipped database."""
    return Locator(Path(geoip_path) if geoip_path else default_path(), networks)
