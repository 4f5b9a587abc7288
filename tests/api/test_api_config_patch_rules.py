"""PATCH /config/controller without a broker: merge, validation, commands, persistence rules."""

from __future__ import annotations

import json
from unittest.mock import MagicMock

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.api.controller_patch import PatchError, merge, plan, runtime_part
from services.api.settings import ApiSettings
from services.charge_controller.controller_config import ControllerConfig, with_change
from services.charge_controller.runtime_state import (
    RuntimeState,
    read_state,
    record_change,
    write_state,
)


def test_merge_is_a_json_merge_where_null_is_a_value():
    base = {"a": 1, "s": {"x": 1, "y": {"p": 1, "q": 2}}, "l": [1, 2]}
    patch = {"s": {"y": {"q": 3}}, "l": [9], "n": None}
    assert merge(base, patch) == {
        "a": 1,
        "s": {"x": 1, "y": {"p": 1, "q": 3}},
        "l": [9],
        "n": None,
    }
    assert base["s"]["y"]["q"] == 2  # not modified in place


def test_a_patch_becomes_one_command_per_top_level_key():
    current = ControllerConfig()
    p = plan(current, {"mode": "hold", "control": {"gain": 0.5, "pid": {"kp": 0.9}}})
    assert p.commands == {
        "mode": "hold",
        "control": {
            "gain": 0.5,
            "pid": {"kp": 0.9, "ki": 0.0, "kd": 0.0, "integral_limit_w": 300.0},
        },
    }
    assert p.config.control.gain == 0.5 and p.config.control.pid.kp == 0.9
    assert p.config.control.deadband_w == current.control.deadband_w
    assert p.applied()["control"]["gain"] == 0.5
    # what the controller will do with those commands, one by one, gives the same result
    replay = current
    for path, value in p.commands.items():
        replay = with_change(replay, path, value)
    assert replay == p.config


def test_keys_only_valid_together_are_judged_together():
    # alone, min_power_w 50 > start_power_w 40 is refused; with start 60 it is fine
    with pytest.raises(PatchError):
        plan(ControllerConfig(), {"control": {"min_power_w": 50}})
    p = plan(ControllerConfig(), {"control": {"min_power_w": 50, "start_power_w": 60}})
    assert list(p.commands) == ["control"]
    # the single section command passes the controller's own check
    assert with_change(ControllerConfig(), "control", p.commands["control"]) == p.config


def test_merge_starts_from_the_published_config_not_the_defaults():
    current = with_change(ControllerConfig(), "control", {"min_power_w": 50, "start_power_w": 60})
    assert plan(current, {"control": {"min_power_w": 55}}).config.control.start_power_w == 60


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"control": {"gain": 5}}, "control.gain"),
        ({"control": {"gain": "fast"}}, "control.gain"),
        ({"mode": "turbo"}, "mode"),
        ({"control": {"no_such": 1}}, "control.no_such"),
        ({"no_such": 1}, "no_such"),
        ({"switches": {"gap_s": 10}}, "switches"),
        ({"battery": {"soc_topic": "bms/soc"}}, "battery.soc_topic"),
        ({"schedule": {"profiles": [{"name": "x", "start": "25:00", "end": "06:00"}]}}, "schedule"),
        (["mode", "hold"], "body"),
    ],
)
def test_invalid_patches_name_the_field(patch, field):
    with pytest.raises(PatchError) as err:
        plan(ControllerConfig(), patch)
    fields = [f for f, _msg in err.value.problems]
    assert any(f == field or f.startswith(field + ".") for f in fields), fields


def test_restart_only_keys_may_repeat_their_current_value():
    current = ControllerConfig()
    whole = current.model_dump(mode="json")
    whole["control"]["gain"] = 0.7
    p = plan(current, whole)  # GET, modify, PATCH back: switches/soc_topic unchanged -> left out
    assert "switches" not in p.commands
    assert "soc_topic" not in p.commands["battery"]
    assert p.config.control.gain == 0.7


def test_runtime_part_ignores_the_settings_around_it():
    published = {**ControllerConfig().model_dump(mode="json"), "mqtt": {"password": "***"}}
    published["mode"] = "hold"
    assert runtime_part(published).mode == "hold"
    with pytest.raises(ValueError):
        runtime_part("nope")


# --- controller side: what is persisted and how it comes back ------------------------------


def test_only_changed_keys_are_recorded_normalised():
    c = ControllerConfig()
    c1 = with_change(c, "control/gain", "0.5")
    o = record_change({}, "control/gain", "0.5", c1)
    assert o == {"control.gain": 0.5}
    c2 = with_change(c1, "control", {"deadband_w": 20, "pid": {"kp": 0.9}})
    o = record_change(o, "control", {"deadband_w": 20, "pid": {"kp": 0.9}}, c2)
    assert o["control.deadband_w"] == 20.0 and o["control.pid"]["kp"] == 0.9
    c3 = with_change(c2, "control.pid.ki", 0.1)
    o = record_change(o, "control.pid.ki", 0.1, c3)  # folded into the stored control.pid
    assert "control.pid.ki" not in o and o["control.pid"]["ki"] == 0.1
    c4 = with_change(c3, "control", {"pid": {"kd": 0.2}})
    o = record_change(o, "control", {"pid": {"kd": 0.2}}, c4)
    assert o["control.pid"] == c4.control.pid.model_dump(mode="json")
    assert set(o) == {"control.gain", "control.deadband_w", "control.pid"}


class Log:
    def __init__(self):
        self.events = []

    def __getattr__(self, level):
        return lambda event, **kw: self.events.append((level, event, kw))


def test_state_file_round_trip_and_precedence_over_the_config_file(tmp_path):
    path = tmp_path / "state.json"
    base = ControllerConfig(mode="auto")  # what the config file says
    first = RuntimeState(path, Log())
    assert first.start_config(base) == base
    changed = with_change(base, "mode", "hold")
    first.record("mode", "hold", changed)
    assert read_state(path) == {"mode": "hold"}
    assert not list(tmp_path.glob("*.tmp"))  # atomic write leaves no temporary behind
    again = RuntimeState(path, Log())
    assert again.start_config(base).mode == "hold"  # persisted override wins over the file
    assert again.overrides == {"mode": "hold"}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not JSON"),
        (json.dumps({"format": 99, "overrides": {}}), "format-1"),
        (json.dumps({"format": 1, "overrides": {"control.gain": 5}}), "control.gain"),
        (json.dumps({"format": 1, "overrides": {"switches": {}}}), "cannot change at runtime"),
        (json.dumps({"format": 1, "overrides": {"nope": 1}}), "unknown parameter nope"),
    ],
)
def test_a_bad_state_file_is_logged_and_ignored(tmp_path, content, reason):
    path = tmp_path / "state.json"
    path.write_text(content)
    log = Log()
    state = RuntimeState(path, log)
    assert state.start_config(ControllerConfig()) == ControllerConfig()
    assert state.overrides == {}
    [(level, event, kw)] = log.events
    assert (level, event) == ("error", "runtime_state_ignored") and reason in kw["reason"]


def test_an_unwritable_state_file_is_logged_not_raised(tmp_path):
    log = Log()
    state = RuntimeState(tmp_path / "missing-dir" / "state.json", log)
    state.record("mode", "hold", with_change(ControllerConfig(), "mode", "hold"))
    assert state.overrides == {"mode": "hold"}
    assert log.events[-1][1] == "runtime_state_not_saved"
    with pytest.raises(OSError):
        write_state(tmp_path / "missing-dir" / "state.json", {})


# --- the endpoint's contract without a broker -----------------------------------------------


def app_client(token):
    runtime = MagicMock()
    runtime.client.connected.is_set.return_value = True
    # no history file: an in-process app must not write /data/history.sqlite on this machine
    return TestClient(create_app(runtime, ApiSettings(history={"file": None}), token))


def test_without_a_configured_token_writes_are_off():
    r = app_client(None).patch(
        "/config/controller", json={"mode": "hold"}, headers={"Authorization": "Bearer x"}
    )
    assert r.status_code == 503 and "no API token" in r.json()["detail"]


def test_openapi_shows_the_request_schema():
    schema = app_client("t").get("/openapi.json").json()
    body = schema["paths"]["/config/controller"]["patch"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"]
    name = ref.rsplit("/", 1)[1]
    patch_schema = schema["components"]["schemas"][name]
    assert {"mode", "control", "battery"} <= set(patch_schema["properties"])
    assert "gain" in schema["components"]["schemas"]["ControlParams"]["properties"]
    assert app_client("t").get("/docs").status_code == 200
