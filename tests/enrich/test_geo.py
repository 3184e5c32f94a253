"""Location from mmdb databases (both record layouts), custom networks, the shipped database."""

from __future__ import annotations

from pathlib import Path

import pytest

from openrum.enrich.geo import Locator, Place, default_path, open_locator, parse_networks
from openrum.enrich.ip import mask_ip
from tests.enrich.mmdb import write_mmdb

CITY = {
    "country": {"iso_code": "DE", "names": {"en": "Germany"}},
    "subdivisions": [{"iso_code": "BY", "names": {"en": "Bavaria"}}],
    "city": {"names": {"en": "Munich"}},
    "location": {"latitude": 48.137154, "longitude": 11.576124},
}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return write_mmdb(
        tmp_path / "city.mmdb",
        {
            "198.51.100.0/24": CITY,  # GeoLite2 / DB-IP layout
            "198.51.0.0/16": {"country_code": "FR"},  # ip-location-db, country level
            "2001:db8::/32": {
                "country_code": "NL",
                "state1": "North Holland",
                "city": "Amsterdam",
                "latitude": 52.3676,
                "longitude": 4.9041,
            },
        },
    )


@pytest.mark.parametrize(
    ("address", "place"),
    [
        ("198.51.100.0", Place("DE", "Bavaria", "Munich", 48.1, 11.6)),  # rounded to 1 decimal
        ("198.51.7.0", Place("FR")),
        ("2001:db8:1::", Place("NL", "North Holland", "Amsterdam", 52.4, 4.9)),
        ("8.8.8.0", Place()),
        ("", Place()),
        ("garbage", Place()),
    ],
)
def test_locate(db: Path, address: str, place: Place) -> None:
    assert Locator(db).locate(address) == place


def test_masking_first_then_the_lookup(db: Path) -> None:
    locator = Locator(db)
    assert locator.locate(mask_ip("198.51.100.77")) == Place("DE", "Bavaria", "Munich", 48.1, 11.6)
    # Level 2 zeroes two octets: only the /16 is known then.
    assert locator.locate(mask_ip("198.51.100.77", 2)) == Place("FR")


def test_custom_networks_come_first_most_specific_wins(db: Path) -> None:
    locator = Locator(
        db,
        [
            "10.0.0.0/8=DE|Hesse|Frankfurt|50.11|8.68",
            "10.20.0.0/16=AT|Vienna|Vienna",
            "198.51.100.0/24=CH",
        ],
    )
    assert locator.locate("10.1.2.0") == Place("DE", "Hesse", "Frankfurt", 50.1, 8.7)
    assert locator.locate("10.20.3.0") == Place("AT", "Vienna", "Vienna")
    assert locator.locate("198.51.100.0") == Place("CH")


@pytest.mark.parametrize("entry", ["10.0.0.0/8", "nonsense=DE", "10.0.0.0/8=DE|x|y|north|0"])
def test_bad_custom_networks_explain_themselves(entry: str) -> None:
    with pytest.raises(ValueError, match="CIDR=COUNTRY"):
        parse_networks([entry])


def test_a_missing_database_leaves_locations_unknown(tmp_path: Path) -> None:
    locator = Locator(tmp_path / "missing.mmdb", ["10.0.0.0/8=DE"])
    assert locator.locate("8.8.8.0") == Place()
    assert locator.locate("10.0.0.0") == Place("DE")


def test_the_shipped_country_database_works_out_of_the_box() -> None:
    assert default_path().is_file(), "run `make geo` (part of `make setup`)"
    locator = open_locator("", [])
    assert locator.reader is not None
    assert locator.locate(mask_ip("8.8.8.8")).country == "US"
    assert locator.locate(mask_ip("2a00:1450:4001:82a::200e")).country is not None
