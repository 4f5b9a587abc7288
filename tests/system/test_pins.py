"""The dependency pins: pyproject's direct pins and constraints.txt agree, and nothing floats."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[=<>!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _constraints() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep, f"constraints.txt: {line!r} is not pinned with =="
        pins[_name(name)] = version
    return pins


def test_every_direct_dependency_is_pinned_to_the_version_in_constraints():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    direct = project["dependencies"] + project["optional-dependencies"]["dev"]
    pins = _constraints()
    for requirement in direct:
        spec = requirement.split("#")[0].strip()
        name, sep, version = spec.partition("==")
        assert sep, f"pyproject.toml: {spec!r} must be pinned with =="
        assert pins.get(_name(name)) == version.strip(), (
            f"{name}: pyproject pins {version}, constraints.txt {pins.get(_name(name))}; "
            "run `make lock`"
        )


def test_installed_packages_match_the_constraints():
    from importlib.metadata import distributions

    pins = _constraints()
    installed = {_name(d.metadata["Name"]): d.version for d in distributions()}
    drift = {n: (v, installed.get(n)) for n, v in pins.items() if installed.get(n) != v}
    assert not drift, f"installed differs from constraints.txt (pinned, installed): {drift}"
