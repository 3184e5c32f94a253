"""A wheel must carry the built browser agent and dashboard (npm's output, see the Makefile).

Built without them it would install a server that answers 404 for /openrum.js and the
dashboard: the build stops instead. Editable installs (`pip install -e .`, which `make` runs
before it builds them) read the source tree and are not checked. Everything else is in
pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
BUILT = {
    "openrum/collect/static/openrum.js": "npm --prefix agent ci && npm --prefix agent run build",
    "openrum/web/static/index.html": "npm --prefix web ci && npm --prefix web run build",
}


class BuildPy(build_py):
    def run(self) -> None:
        if not self.editable_mode:
            missing = [f"{name} (made by: {how})" for name, how in BUILT.items()
                       if not (HERE / name).is_file()]  # fmt: skip
            if missing:
                raise SystemExit(
                    "error: the agent and dashboard are not built, a wheel without them would "
                    "not work. Missing: " + "; ".join(missing) + ". `make setup` builds both."
                )
        super().run()


setup(cmdclass={"build_py": BuildPy})
