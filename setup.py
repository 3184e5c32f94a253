"""A wheel must carry the built browser agent and dashboard (npm's output, see the Makefile).

Built without them it would install a server that answers 404 for /openrum.js and the
dashboard: the build stops instead. The country database that `make geo` installs (from npm,
outside the package) is copied in too, with its licence (CC BY 4.0, NRO), so that an installed
server locates addresses as a clone's does. Editable installs (`pip install -e .`, which `make` runs
before it builds them) read the source tree and are not checked. Everything else is in
pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
BUILT = {
    "openrum/collect/static/openrum.js": "npm --prefix agent ci && npm --prefix agent run build",
    "openrum/web/static/index.html": "npm --prefix web ci && npm --prefix web run build",
    "geoip/node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb": (
        "npm --prefix geoip ci"
    ),
}
# Where openrum/enrich/geo.py looks for it in an installed package.
GEO_FILES = ("geo-whois-asn-country.mmdb", "NRO_LICENSE")


class BuildPy(build_py):
    def run(self) -> None:
        if not self.editable_mode:
            missing = [f"{name} (made by: {how})" for name, how in BUILT.items()
                       if not (HERE / name).is_file()]  # fmt: skip
            if missing:
                raise SystemExit(
                    "error: the agent and dashboard are not built (or the geo database is not "
                    "installed), a wheel without them would not work. Missing: "
                    + "; ".join(missing)
                    + ". `make setup` makes all three."
                )
        super().run()
        if not self.editable_mode:
            source = HERE / "geoip/node_modules/@ip-location-db/geo-whois-asn-country-mmdb"
            target = Path(self.build_lib) / "openrum" / "enrich" / "geoip"
            target.mkdir(parents=True, exist_ok=True)
            for name in GEO_FILES:
                shutil.copyfile(source / name, target / name)


setup(cmdclass={"build_py": BuildPy})
