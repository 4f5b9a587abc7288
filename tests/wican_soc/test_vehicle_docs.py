"""docs/vehicles.md lists exactly the vehicles of the profile folder."""

from pathlib import Path

import pytest
from wican_soc.builtin_profiles import builtin_profiles

from services.wican_soc.vehicle_table import DOCUMENTS, END, START, markdown_table, replace_table

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "vehicles.md"


@pytest.mark.parametrize("name", DOCUMENTS)
def test_supported_vehicles_table_matches_the_profiles(name):
    table = markdown_table(builtin_profiles())
    document = (ROOT / name).read_text()
    assert replace_table(document, table) == document, (
        f"{name} is out of date: run python -m services.wican_soc.vehicle_table --write"
    )


def test_every_profile_has_a_row():
    profiles = builtin_profiles()
    table = markdown_table(profiles)
    for key in profiles:
        assert f"`{key}`" in table


def test_markers_are_required():
    with pytest.raises(ValueError, match="markers"):
        replace_table("no table here", "| x |")
    assert replace_table(f"a\n{START}\nold\n{END}\nb", "new") == f"a\n{START}\nnew\n{END}\nb"


def test_configuration_example_is_valid(monkeypatch, tmp_path):
    from services.wican_soc.settings import WicanSocSettings
    from services.wican_status.settings import WicanStatusSettings

    example = DOC.read_text().split("```yaml\nwican-status:", 1)[1].split("```", 1)[0]
    config = tmp_path / "canbridge.yaml"
    config.write_text("wican-status:" + example)
    monkeypatch.setenv("CANBRIDGE_CONFIG", str(config))
    status, soc = WicanStatusSettings(), WicanSocSettings()
    assert [v.name for v in status.vehicles] == ["leaf", "ioniq5"]
    assert soc.vehicles == status.vehicles
