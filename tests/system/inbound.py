"""Every inbound MQTT topic of the services, as data (docs/input-limits.md lists the same).

One row per topic the services subscribe to (wildcards instantiated per message), with the
subscribers, the payload limit that applies and a near-valid shape for the topic. The fuzz test
sends each row's payloads as `admin`, the most privileged user (allowed to publish everywhere).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from system.hostile import Shape, out_of_range

from services.bic_gateway.commands import COMMANDS
from services.charge_controller.controller_config import ControllerConfig
from shared.payload_limits import COMMAND_LIMITS, DEFAULT_LIMITS, SMALL_LIMITS

BASE = "canbridge"
DEVICE = "d0d0cafe0001"
VEHICLE = "sim-car"
METER = "sim/meter/SENSOR"
BMS_SOC = "bms/soc"
WALLBOX = "evcc/loadpoints/1/chargePower"


@dataclass(frozen=True)
class Inbound:
    name: str
    subscribers: tuple[str, ...]
    topic: Callable[[random.Random], str]
    limit: int
    shape: Shape


def fixed(topic: str) -> Callable[[random.Random], str]:
    return lambda _rng: topic


def _id(rng: random.Random) -> object:
    return rng.choice(["f1", 7, None, "x" * 300, [1], {"a": 1}, 10**30, True])


def _words(*words: bytes) -> Shape:
    return lambda rng: rng.choice(words)


def _setpoint(rng: random.Random) -> object:
    value = out_of_range(rng)
    if rng.random() < 0.3:
        return value
    return {"value": value, "ts": rng.choice([None, 0, -1, 1e12, "now", 1.7e9])}


def _charge(rng: random.Random) -> object:
    var = rng.choice(["chargeA", "chargeP", "chargeX", "", 5, None])
    return {"var": var, "val": out_of_range(rng)}


def _cli(rng: random.Random) -> object:
    cmd = rng.choice([*COMMANDS, "rm -rf", "", "ON", "cvset " * 10])
    return {"id": _id(rng), "cmd": cmd, "value": rng.choice([out_of_range(rng), None, "56"])}


def _provision(rng: random.Random) -> object:
    return {"confirm": rng.choice([True, "true", 1, None, [True], {"a": True}])}


def _controller_paths() -> list[str]:
    paths: list[str] = []

    def walk(prefix: str, node: object) -> None:
        if isinstance(node, dict) and node:
            paths.append(prefix)  # a whole section may be sent too
            for key, child in node.items():
                walk(f"{prefix}/{key}" if prefix else key, child)
        elif prefix:
            paths.append(prefix)

    walk("", ControllerConfig().model_dump(mode="json"))
    return [p for p in paths if p] + ["nope", "control/nope", "switches", "a/" * 50, "battery"]


CONTROLLER_PATHS = _controller_paths()


def _controller_topic(rng: random.Random) -> str:
    return f"{BASE}/charge-controller/set/{rng.choice(CONTROLLER_PATHS)}"


def _controller_value(rng: random.Random) -> object:
    return rng.choice(
        [
            out_of_range(rng),
            rng.choice(["auto", "manual", "winter", "hold", "sideways"]),
            rng.choice([True, False, None]),
            [{"name": "n", "start": "25:00", "end": "x", "max_discharge_w": out_of_range(rng)}],
            {"gain": out_of_range(rng), "nope": 1},
        ]
    )


def _meter(rng: random.Random) -> object:
    return {"SML": {"Power_curr": rng.choice([out_of_range(rng), "12", None, [1], {"a": 1}])}}


def _bic_state(rng: random.Random) -> object:
    return {
        "ac_power": out_of_range(rng),
        "voltage": rng.choice([out_of_range(rng), 52.0, "52"]),
        "temperature": rng.choice([out_of_range(rng), None]),
        "flags": rng.choice([[], {"a": 1}, "x"]),
    }


def _status_json(rng: random.Random) -> object:
    return rng.choice(
        [{"status": rng.choice(["online", "offline", "ONLINE ", 5, None])}, "online", 1]
    )


def _rx(rng: random.Random) -> object:
    frame = {
        "id": rng.choice([0x7BB, 0x79B, out_of_range(rng), -1, 2**40]),
        "dlc": rng.choice([8, 9, -1, 0, out_of_range(rng)]),
        "rtr": rng.choice([False, True, 0]),
        "extd": rng.choice([False, True, "no"]),
        "data": rng.choice([[0x10, 0x35, 0x61, 1, 0, 0, 0, 0], [256] * 8, [-1], "00", []]),
    }
    return {
        "bus": rng.choice(["0", 0, -1, "x"]),
        "type": "rx",
        "frame": [frame] * rng.randint(0, 3),
    }


def _vehicle_state(rng: random.Random) -> object:
    return {"soc": out_of_range(rng), "time": rng.choice(["x", 0, None])}


def _heartbeat(rng: random.Random) -> object:
    return {"service": "fuzz", "interval_s": out_of_range(rng), "uptime_s": out_of_range(rng)}


def _any_object(rng: random.Random) -> object:
    return {"value": out_of_range(rng), "nested": {"x": [out_of_range(rng)]}}


def _command_result(rng: random.Random) -> object:
    return {
        "parameter": rng.choice(CONTROLLER_PATHS + [[1], None]),
        "ok": rng.choice([True, False, "yes"]),
        "value": out_of_range(rng),
        "error": rng.choice([None, "x" * 500]),
    }


def _service_name(rng: random.Random) -> str:
    return rng.choice(["fuzz-a", "fuzz-b", f"fuzz-{rng.randrange(100)}", "x" * 200, *ODD_LEVELS])


#: topic levels a careless int() chokes on: "²".isdigit() is True, "٠" is an Arabic-Indic zero
#: int() accepts, and 5,000 digits are beyond Python's int digit limit
ODD_LEVELS = ["²", "٠", "9" * 5000, "-1", " 0", "0" * 100]


def _unit(rng: random.Random) -> str:
    return rng.choice(["0", "0", "1", "63", "999", "x", *ODD_LEVELS])


BIC = f"{BASE}/bic/0"
GATEWAY = ("bic-gateway",)
CONTROLLER = ("charge-controller",)

INBOUND: list[Inbound] = [
    # bic-gateway: commands per unit, the controller's availability, Home Assistant's birth
    Inbound("set/power", GATEWAY, fixed(f"{BIC}/set/power"), COMMAND_LIMITS.max_bytes, _setpoint),
    Inbound(
        "set/current", GATEWAY, fixed(f"{BIC}/set/current"), COMMAND_LIMITS.max_bytes, _setpoint
    ),
    Inbound("set/charge", GATEWAY, fixed(f"{BIC}/set/charge"), COMMAND_LIMITS.max_bytes, _charge),
    Inbound(
        "set/state",
        GATEWAY,
        fixed(f"{BIC}/set/state"),
        COMMAND_LIMITS.max_bytes,
        _words(b"0", b"1", b"2", b"-1", b"on", b"maybe", b'"1"', b"1e400"),
    ),
    Inbound("set/cmd", GATEWAY, fixed(f"{BIC}/set/cmd"), COMMAND_LIMITS.max_bytes, _cli),
    Inbound(
        "set/provision",
        GATEWAY,
        fixed(f"{BIC}/set/provision"),
        COMMAND_LIMITS.max_bytes,
        _provision,
    ),
    Inbound(
        "bic/+/set/+ (other units and names)",
        GATEWAY,
        lambda rng: rng.choice(
            [f"{BASE}/bic/7/set/power", f"{BIC}/set/unknown", f"{BIC}/set/{'p' * 5000}"]
            + [f"{BASE}/bic/{level}/set/power" for level in ODD_LEVELS]
        ),
        COMMAND_LIMITS.max_bytes,
        _setpoint,
    ),
    Inbound(
        "charge-controller/status",
        GATEWAY,
        fixed(f"{BASE}/charge-controller/status"),
        SMALL_LIMITS.max_bytes,
        _words(b"online", b"offline", b"OnLine", b"\xff", b"{}"),
    ),
    Inbound(
        "homeassistant/status",
        ("bic-gateway", "wican-soc", "charge-controller"),
        fixed("homeassistant/status"),
        SMALL_LIMITS.max_bytes,
        _words(b"online", b"offline", b" online ", b"\xff"),
    ),
    # charge-controller: meter, BMS SoC, wallbox, the gateway's state and availability, settings
    Inbound("meter", CONTROLLER, fixed(METER), DEFAULT_LIMITS.max_bytes, _meter),
    Inbound("BMS SoC", CONTROLLER, fixed(BMS_SOC), DEFAULT_LIMITS.max_bytes, _vehicle_state),
    Inbound("wallbox", CONTROLLER, fixed(WALLBOX), DEFAULT_LIMITS.max_bytes, out_of_range),
    Inbound(
        "bic/+/state",
        ("charge-controller", "api"),
        lambda rng: f"{BASE}/bic/{_unit(rng)}/state",
        DEFAULT_LIMITS.max_bytes,
        _bic_state,
    ),
    Inbound(
        "bic/0/availability",
        CONTROLLER,
        fixed(f"{BIC}/availability"),
        SMALL_LIMITS.max_bytes,
        _words(b"online", b"offline", b"\x00", b"{}"),
    ),
    Inbound(
        "charge-controller/set/#",
        CONTROLLER,
        _controller_topic,
        COMMAND_LIMITS.max_bytes,
        _controller_value,
    ),
    # wican-status and wican-soc: the adapter's status (both layouts), its CAN frames, answers
    Inbound(
        "wican/+/status",
        ("wican-status", "wican-soc"),
        fixed(f"wican/{DEVICE}/status"),
        DEFAULT_LIMITS.max_bytes,
        _status_json,
    ),
    Inbound(
        "wican/+/can/status",
        ("wican-status", "wican-soc"),
        fixed(f"wican/{DEVICE}/can/status"),
        DEFAULT_LIMITS.max_bytes,
        _status_json,
    ),
    Inbound(
        "wican/+/can/rx",
        ("wican-soc",),
        fixed(f"wican/{DEVICE}/can/rx"),
        DEFAULT_LIMITS.max_bytes,
        _rx,
    ),
    Inbound(
        "vehicle/+/state",
        ("wican-status", "api"),
        lambda rng: f"{BASE}/vehicle/{rng.choice([VEHICLE, 'fuzz-car', 'y' * 100])}/state",
        DEFAULT_LIMITS.max_bytes,
        _vehicle_state,
    ),
    # api: the state cache, the registry (status, heartbeat), configs, command results
    Inbound(
        "bic/+/fault|info|wear",
        ("api",),
        lambda rng: f"{BASE}/bic/{_unit(rng)}/{rng.choice(['fault', 'info', 'wear'])}",
        DEFAULT_LIMITS.max_bytes,
        _any_object,
    ),
    Inbound(
        "charge-controller/state",
        ("api",),
        fixed(f"{BASE}/charge-controller/state"),
        DEFAULT_LIMITS.max_bytes,
        lambda rng: {"last_decision": rng.choice([{"setpoint_w": out_of_range(rng)}, [1], "x"])},
    ),
    Inbound(
        "+/status",
        ("api",),
        lambda rng: f"{BASE}/{_service_name(rng)}/status",
        SMALL_LIMITS.max_bytes,
        _words(b"online", b"offline", b"\xff", b"x" * 500),
    ),
    Inbound(
        "+/heartbeat",
        ("api",),
        lambda rng: f"{BASE}/{_service_name(rng)}/heartbeat",
        COMMAND_LIMITS.max_bytes,
        _heartbeat,
    ),
    Inbound(
        "+/config",
        ("api",),
        lambda rng: f"{BASE}/{_service_name(rng)}/config",
        DEFAULT_LIMITS.max_bytes,
        _any_object,
    ),
    Inbound(
        "charge-controller/command_result",
        ("api",),
        fixed(f"{BASE}/charge-controller/command_result"),
        DEFAULT_LIMITS.max_bytes,
        _command_result,
    ),
]
