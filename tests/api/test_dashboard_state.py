"""The dashboard's cards and /metrics from the API's caches (pure)."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.api.dashboard_state import summarize
from services.api.metrics import registry_for

HEALTH = {
    "status": "fail",
    "mqtt_connected": True,
    "services": {
        "api": {"up": True, "heartbeat_age_s": 1.0},
        "bic-gateway": {"up": False, "heartbeat_age_s": None, "reason": "never seen"},
    },
}
CONTROLLER = {
    "value": {
        "enabled": True,
        "mode": "hold",
        "target_w": 20,
        "setpoint_w": -300,
        "grid_w": 12.5,
        "battery_w": -310,
        "soc": {"pct": 55.5, "source": "bms"},
        "meter": {"ok": True, "reason": None},
        "limits": {
            "max_charge_w": 2200,
            "max_discharge_w": 0,
            "profile": "night",
            "reasons": ["mode hold: no discharge"],
        },
        "gateway_online": True,
    },
    "age_s": 1.5,
}
DECISIONS = [{"time": "2026-12-02T06:00:01+00:00", "setpoint_w": -300, "reason": "regulating"}]
UNIT = {
    "state": {
        "value": {
            "voltage": 52.3,
            "current": -5.9,
            "ac_power": -287.0,
            "temperature": 31.0,
            "direction": "discharge",
            "operation": "on",
            "flags": {"master": True, "dc_ok": False, "hi_temp": True},
            "problems": ["dc_not_ok"],
        },
        "age_s": 0.7,
    },
    "fault": {
        "value": {
            "flags": {
                "otp": {"active": True, "count": 2, "severity": "fault", "description": "hot"},
                "op_off": {"active": True, "count": 1, "severity": "status", "description": "x"},
                "olp": {"active": False, "count": 0, "severity": "fault", "description": "y"},
            }
        }
    },
    "write_counters": {
        "value": {
            "eeprom_total": 1234,
            "eeprom_writes": {"VOUT_SET": 1234},
            "budget": 4_000_000,
            "eep_off_active": True,
        }
    },
    "info": {"value": {"model": "BIC-2200-48"}},
}
CAR = {"value": {"soc": 82.1, "soh": 91.0, "device_id": "d0d0cafe0001"}, "age_s": 30.0}


def full(**over):
    args = {
        "health": HEALTH,
        "controller": CONTROLLER,
        "decisions": DECISIONS,
        "bic_units": {"0": UNIT},
        "availability": {"0": "online"},
        "energy_today": {"0": {"charged": 1.25, "discharged": 0.5}},
        "vehicles": {"leaf": CAR},
        "adapters": {"d0d0cafe0001": "offline"},
        "configs": {},
        "time_iso": "2026-12-02T06:00:02+00:00",
    }
    return summarize(**{**args, **over})


def test_controller_card_has_mode_limits_with_reasons_and_decisions():
    c = full()["controller"]
    assert (c["mode"], c["target_w"], c["grid_w"], c["soc_pct"]) == ("hold", 20.0, 12.5, 55.5)
    assert c["limits"]["reasons"] == ["mode hold: no discharge"]
    assert c["decisions"][0]["reason"] == "regulating"


def test_a_disabled_controller_is_shown_as_off():
    state = {**CONTROLLER["value"], "enabled": False}
    assert full(controller={"value": state, "age_s": 1})["controller"]["mode"] == "off"


def test_battery_card_words_for_flags_and_eeprom_and_energy():
    b = full()["batteries"][0]
    assert (b["voltage"], b["power_w"], b["online"], b["model"]) == (
        52.3,
        -287.0,
        "online",
        "BIC-2200-48",
    )
    assert [f["words"] for f in b["faults"]] == ["hot"]  # a status flag is not a fault
    assert "DC output not normal" in b["status"]
    assert "internal temperature high" in b["status"]
    assert "setpoints not written to EEPROM (EEP_OFF)" in b["status"]
    assert b["eeprom"] == {"writes": 1234.0, "budget": 4e6, "used_pct": 0.0308, "eep_off": True}
    assert b["energy_today_kwh"] == {"charged": 1.25, "discharged": 0.5}


def test_car_card_with_adapter_status():
    v = full()["vehicles"][0]
    assert (v["name"], v["soc"], v["soh"], v["adapter"], v["age_s"]) == (
        "leaf",
        82.1,
        91.0,
        "offline",
        30.0,
    )


def test_nothing_configured_lists_each_missing_part_with_its_docs():
    s = full(
        controller={"value": {"configured": False, "reason": "no grid meter"}, "age_s": 1},
        bic_units={},
        vehicles={},
        configs={"bic-gateway": {"units": []}, "wican-status": {"vehicles": []}},
    )
    assert [(n["what"], n["docs"]) for n in s["setup"]] == [
        ("battery", "/guide/bic2200.md#configuration-bic-gateway-in-configcanbridgeyaml"),
        ("car", "/guide/vehicles.md#configuration"),
        ("meter", "/guide/charge-controller.md#configuration"),
    ]
    assert s["controller"]["configured"] is False


def test_configured_parts_raise_no_setup_note():
    s = full(configs={"bic-gateway": {"units": [0]}, "wican-status": {"vehicles": [{}]}})
    assert s["setup"] == []


def metrics_text(summary, history=None) -> str:
    return generate_latest(registry_for(lambda: (summary, history))).decode()


def samples(text: str) -> dict[tuple, float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_carry_the_dashboard_values_and_health():
    got = samples(metrics_text(full(), {"rows_written": 10, "used_bytes": 4096}))
    assert got[("canbridge_grid_power_watts", ())] == 12.5
    assert got[("canbridge_battery_soc_percent", ())] == 55.5
    assert got[("canbridge_controller_mode", (("mode", "hold"),))] == 1
    assert got[("canbridge_controller_mode", (("mode", "auto"),))] == 0
    assert got[("canbridge_bic_voltage_volts", (("unit", "0"),))] == 52.3
    assert got[("canbridge_bic_fault_active", (("flag", "otp"), ("unit", "0")))] == 1
    assert got[("canbridge_bic_eeprom_writes_total", (("unit", "0"),))] == 1234
    assert (
        got[("canbridge_bic_energy_today_kwh", (("direction", "charged"), ("unit", "0")))] == 1.25
    )
    assert got[("canbridge_vehicle_soc_percent", (("vehicle", "leaf"),))] == 82.1
    assert got[("canbridge_vehicle_adapter_online", (("vehicle", "leaf"),))] == 0
    assert got[("canbridge_service_up", (("service", "api"),))] == 1
    assert got[("canbridge_service_up", (("service", "bic-gateway"),))] == 0
    assert got[("canbridge_history_rows_written_total", ())] == 10


def test_unknown_values_are_left_out_not_zero():
    state = {"value": {"enabled": True, "mode": "auto", "grid_w": None}, "age_s": 1}
    got = samples(metrics_text(full(controller=state, bic_units={}, vehicles={})))
    assert ("canbridge_grid_power_watts", ()) not in got
    assert got[("canbridge_controller_configured", ())] == 1
    assert not any(name.startswith("canbridge_history") for name, _ in got)
