"""The simulators stay independent of the code they test.

A simulator built from a service's own codec agrees with that service even where both are
wrong. No module under services/sim may import from the BIC gateway, the SoC decoder or our
ISO-TP implementation. The second case checks the WiCAN and meter simulators on their own
(the BIC simulator has its own rewrite).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SIM = ROOT / "services" / "sim"
FORBIDDEN = ("services.bic_gateway", "services.wican_soc", "shared.isotp")


def imported_modules(source: str, package: str) -> list[tuple[int, str]]:
    """(line, module) of every import in a module of `package`, relative ones made absolute."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def violations(paths: list[Path]) -> list[str]:
    bad = []
    for path in paths:
        package = ".".join(path.relative_to(ROOT).parent.parts)
        for line, module in imported_modules(path.read_text(encoding="utf-8"), package):
            if any(module == f or module.startswith(f + ".") for f in FORBIDDEN):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return sorted(set(bad))


def test_the_guard_sees_every_kind_of_import():
    sample = (
        "import shared.isotp\n"
        "from services.wican_soc.decode import decode_values\n"
        "from services import bic_gateway\n"
        "from ...wican_soc import profiles\n"
        "def late():\n    import services.bic_gateway.codec\n"
        "from shared import wican_payload\n"
    )
    found = [m for _, m in imported_modules(sample, "services.sim.wican")]
    for module in [
        "shared.isotp",
        "services.wican_soc.decode",
        "services.bic_gateway",
        "services.wican_soc.profiles",
        "services.bic_gateway.codec",
        "shared.wican_payload",
    ]:
        assert module in found


@pytest.mark.parametrize(
    "folders",
    [["."], ["wican", "meter"]],
    ids=["all of services/sim", "services/sim/wican and meter"],
)
def test_simulators_import_nothing_from_the_code_they_test(folders):
    paths = sorted({p for folder in folders for p in (SIM / folder).rglob("*.py")})
    assert paths
    assert violations(paths) == []
