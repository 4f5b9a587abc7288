"""`config check`: the shipped files pass, every unknown key and impossible value is named."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from harness import PROJECT

from services.api.config_check import main
from services.api.config_review import review
from shared.settings import read_config_file

pytestmark = pytest.mark.integration  # starts processes

SHIPPED = PROJECT / "config" / "canbridge.yaml"
SIM = PROJECT / "config" / "sim.yaml"


def problems(text: str) -> dict[str, str]:
    return dict(review(yaml.safe_load(text)).problems)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (SHIPPED, ["no car configured", "no battery configured", "no grid meter configured"]),
        (
            SIM,
            [
                "sim-car (nissan-leaf-ze1",
                "drives BIC-2200 unit(s) 0",
                "reading grid power from sim/meter/SENSOR",
            ],
        ),
    ],
    ids=["shipped", "sim"],
)
def test_shipped_files_are_clean_and_say_what_they_configure(path, expected):
    result = review(read_config_file(path))
    assert result.problems == [] and result.warnings == []
    plan = "\n".join(result.plan)
    for line in expected:
        assert line in plan


def test_the_plain_config_has_nothing_of_the_simulators():
    text = SHIPPED.read_text()
    assert "sim/meter" not in text and "sim-car" not in text and "sim-meter" not in text


def test_unknown_keys_are_named_at_every_level():
    found = problems(
        """
colour: blue
api: {htp_port: 8080}
charge-controller: {control: {gian: 1}}
"""
    )
    assert found["colour"].startswith("unknown key")
    assert found["api.htp_port"] == "unknown key"
    assert found["charge-controller.control.gian"] == "unknown key"


def test_impossible_values_are_named_with_what_was_given():
    found = problems(
        """
log_level: verbose
api: {http_port: 99999}
charge-controller: {mode: turbo, control: {max_charge_w: -5}}
"""
    )
    assert found["log_level"].endswith("(got 'verbose')")
    assert "less than or equal to 65535 (got 99999)" in found["api.http_port"]
    assert "(got 'turbo')" in found["charge-controller.mode"]
    assert "greater than or equal to 0 (got -5)" in found["charge-controller.control.max_charge_w"]


def test_a_secret_is_never_echoed():
    found = problems("bic-gateway: {mqtt: {password: [hunter2]}}")
    assert "hunter2" not in str(found)
    assert "bic-gateway.mqtt.password" in found


def test_a_controller_without_a_gateway_unit_is_a_problem():
    meter = "meter: {sources: [{topic: tele/meter/SENSOR}]}"
    found = problems(f"charge-controller: {{{meter}}}\nbic-gateway: {{units: []}}")
    assert "no gateway takes" in found["charge-controller.meter"]
    found = problems(f"charge-controller: {{{meter}, gateway: {{unit: 3}}}}\nbic-gateway: {{}}")
    assert found["charge-controller.gateway.unit"] == "unit 3 is not one of bic-gateway.units [0]"


def test_different_car_lists_for_the_two_wican_services_are_a_problem():
    car = "{name: leaf, device_id: d0d0cafe0001, profile: nissan-leaf-ze1}"
    found = problems(f"wican-status: {{vehicles: [{car}]}}\nwican-soc: {{vehicles: []}}")
    assert "both must list the same cars" in found["wican-soc.vehicles"]


def test_a_battery_without_a_meter_is_a_warning_and_the_plan_says_what_runs():
    result = review(
        yaml.safe_load("bic-gateway: {units: [0, 1]}\ncharge-controller: {meter: null}")
    )
    assert result.ok
    assert "only monitored" in dict(result.warnings)["charge-controller.meter"]
    assert any("unit(s) 0, 1 over socketcan can0" in line for line in result.plan)


def test_an_invalid_service_is_reported_as_not_starting():
    result = review(yaml.safe_load("charge-controller: {mode: turbo}"))
    assert "charge-controller: would not start (see the problems above)" in result.plan


def test_exit_codes_and_output(tmp_path, capsys):
    assert main([str(SHIPPED)]) == 0
    assert "no problems" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("api: {htp_port: 1}\n")
    assert main([str(bad)]) == 1
    assert "api.htp_port: unknown key" in capsys.readouterr().out
    bad.write_text("api: [unclosed\n")
    assert main([str(bad)]) == 2
    assert "not valid YAML" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.yaml")]) == 2


def test_runs_as_a_module_with_the_file_from_the_environment():
    done = subprocess.run(
        [sys.executable, "-m", "services.api.config_check"],
        cwd=PROJECT,
        env={"CANBRIDGE_CONFIG": str(SIM), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"config check: {SIM}" in done.stdout
