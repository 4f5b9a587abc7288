"""The public topics, one row each, as the topic tables of the README and the service docs
list them.

The topic cells are built with ``topics`` (placeholders for the variable levels) and the key
lists with the ``payloads`` models, so the tables cannot drift from what the services use. A
row names the pages whose table lists it (``pages``); the README lists most. Links are written
from the repository root and made relative to each page when it is rendered (``table``).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from shared.contract import payloads as p
from shared.contract import topics as t

# placeholders for the variable levels, as the README writes them
BASE, SERVICE, UNIT, NAME, ID = "<base>", "<service>", "<unit>", "<name>", "<id>"

# the pages with a topic table
README = "README.md"
BIC_DOC = "docs/bic2200.md"
CONTROLLER_DOC = "docs/charge-controller.md"
VEHICLES_DOC = "docs/vehicles.md"
PAGES = (README, BIC_DOC, CONTROLLER_DOC, VEHICLES_DOC)


@dataclass(frozen=True)
class Row:
    topic: str  # Markdown
    direction: str
    retained: str
    payload: str
    who: str
    pages: tuple[str, ...] = (README,)  # the pages whose table lists the row


def code(text: str) -> str:
    return f"`{text}`"


def keys(model: type[BaseModel]) -> str:
    """``{"a","b",...}``: a model's field names, as the table lists a payload's keys."""
    return "`{" + ",".join(f'"{name}"' for name in model.model_fields) + "}`"


def _unit(leaf: str) -> str:
    return f"{t.unit_root(BASE, UNIT)}/{leaf}"


def _unit_set(*names: str) -> str:
    first, *rest = names
    return ", ".join([code(_unit(f"set/{first}"))] + [code(f"set/{name}") for name in rest])


def _plain(first: str, *rest: str) -> str:
    return ", ".join([code(first)] + [code(name) for name in rest])


ROWS: tuple[Row, ...] = (
    Row(
        code(t.status_topic(BASE, SERVICE)),
        "service → all",
        "yes",
        "`online` / `offline` (also the last will, so a crashed service says it too)",
        "every service",
        pages=(README, BIC_DOC, CONTROLLER_DOC),
    ),
    Row(
        code(t.heartbeat_topic(BASE, SERVICE)),
        "service → all",
        "yes, expires after 3 intervals (a late subscriber gets the latest beat at once; its "
        "age is 3 intervals minus the expiry left)",
        f"{keys(p.Heartbeat)}; `problem`: null, or why the service cannot do its job (e.g. its "
        "CAN interface is missing); `rejected_payloads`: payloads refused since start",
        "every service",
        pages=(README, BIC_DOC, CONTROLLER_DOC),
    ),
    Row(
        code(t.config_topic(BASE, SERVICE)),
        "service → api",
        "yes",
        "the service's effective settings, secrets as `***`",
        "every service",
        pages=(README, BIC_DOC, CONTROLLER_DOC),
    ),
    Row(
        f"{code(t.wican_status_topic(ID))} (or {code(t.wican_status_topic(ID, True))})",
        "adapter → all",
        "yes (also its will)",
        '`{"status": "online"}` / `{"status": "offline"}`',
        "WiCAN",
        pages=(README, VEHICLES_DOC),
    ),
    Row(
        code(t.tx_topic(ID)),
        "canbridge → adapter",
        "no",
        "WiCAN tx JSON: request (wican-status), Flow Control (wican-soc)",
        "wican-status, wican-soc",
        pages=(README, VEHICLES_DOC),
    ),
    Row(
        code(t.rx_topic(ID)),
        "adapter → canbridge",
        "no",
        "WiCAN rx JSON, one or more frames",
        "WiCAN",
        pages=(README, VEHICLES_DOC),
    ),
    Row(
        f"{code(t.CAR_SOC)} (per vehicle `soc_topic`)",
        "out",
        "yes, v5 expiry `expiry_s`",
        '`{"soc": 84.4, "time": "2026-11-24T18:02:11+01:00", "soc_bms": 82.1, …, "vehicle": '
        '"leaf"}` — `soc` is what the dashboard shows where the profile knows it, else the '
        "battery controller's value",
        "wican-soc",
        pages=(README, VEHICLES_DOC),
    ),
    Row(
        code(t.vehicle_topic(BASE, NAME, "<value>")),
        "out",
        "yes, v5 expiry",
        "plain number (`soc`, `soc_bms`, … as the profile decodes) — the evcc `soc` source",
        "wican-soc",
        pages=(README, VEHICLES_DOC),
    ),
    Row(
        code(t.vehicle_topic(BASE, NAME, "state")),
        "out",
        "yes, v5 expiry",
        "the `car/soc` JSON plus `device_id`, `profile`, `units`",
        "wican-soc",
        pages=(README, VEHICLES_DOC),
    ),
    Row(
        code(_unit("availability")),
        "out",
        "yes",
        "`online` only while the unit answers",
        "bic-gateway",
        pages=(README, BIC_DOC, CONTROLLER_DOC),
    ),
    Row(
        code(_unit("info")),
        "out",
        "yes",
        "model, `family` (`BIC-2200`/`NPB`), `bidirectional`, firmware, serial, setpoint "
        "ranges, config flags, EEP_OFF",
        "bic-gateway",
        pages=(README, BIC_DOC, CONTROLLER_DOC),
    ),
    Row(
        code(_unit("state")),
        "out",
        "yes",
        "`voltage`, `current`, `dc_power`, `ac_power` (W, + charging), `ac_voltage`, "
        "`temperature`, fans, `direction`, `operation`, setpoints, `flags`, `problems`",
        "bic-gateway",
        pages=(README, BIC_DOC, CONTROLLER_DOC),
    ),
    Row(
        f"{code(_unit('voltage'))} … "
        + _plain("ac_power", "ac_voltage", "temperature", "direction", "operation"),
        "out",
        "yes",
        "plain values of `state`",
        "bic-gateway",
        pages=(README, BIC_DOC),
    ),
    Row(
        _plain(_unit("energy_charged"), "energy_discharged"),
        "out",
        "yes",
        "kWh, integrated DC power; continue across gateway restarts",
        "bic-gateway",
        pages=(README, BIC_DOC),
    ),
    Row(
        _plain(_unit("fault"), "setpoint", "wear"),
        "out",
        "yes",
        "fault flags with counters; what became of the last setpoint; write counters, the "
        "unit's EEPROM write interval and the writes held for it",
        "bic-gateway",
        pages=(README, BIC_DOC),
    ),
    Row(
        _plain(_unit("error"), "reply"),
        "out",
        "no",
        "rejected command with the reason; CLI answers. Refusals are answered at most 20/s per "
        'unit (bursts of 40); beyond that one `error` with `"command": null` counts those not '
        "answered ([command queue](docs/bic2200.md#command-queue))",
        "bic-gateway",
        pages=(README, BIC_DOC),
    ),
    Row(
        _unit_set(t.SET_POWER, t.SET_CURRENT),
        "in",
        "no",
        'signed W / A (+ charge, − discharge), `-800` or `{"value": -800, "ts": …}`',
        "charge-controller, admin",
        pages=(README, BIC_DOC, CONTROLLER_DOC),
    ),
    Row(
        _unit_set(t.SET_CHARGE, t.SET_STATE),
        "in",
        "no",
        'legacy bridge: `{"var": "chargeP"\\|"chargeA", "val": n}`; `0`/`1`',
        "legacy tools",
        pages=(README, BIC_DOC),
    ),
    Row(
        _unit_set(t.SET_CMD, t.SET_PROVISION),
        "in",
        "no",
        f'CLI request {keys(p.SetCmd)} (`init_mode` needs `"confirm": true`); '
        '`{"confirm": true}`',
        "CLI (admin)",
        pages=(README, BIC_DOC),
    ),
    Row(
        code(t.controller_topic(BASE, "state")),
        "out",
        "yes",
        "mode, target, setpoint, `grid_w`, `battery_w`, SoC, meter health, limits with reasons, "
        "last decision with reason",
        "charge-controller",
        pages=(README, CONTROLLER_DOC),
    ),
    Row(
        code(t.controller_set(BASE, "<key>")),
        "in",
        "no",
        "runtime parameter, e.g. `set/mode` `hold`, `set/control/target_w` `20`",
        "you, api, Home Assistant",
        pages=(README, CONTROLLER_DOC),
    ),
    Row(
        code(t.controller_topic(BASE, "command_result")),
        "out",
        "no",
        f"{keys(p.CommandResult)}; echoes the command's MQTT v5 Correlation Data (up to 64 bytes)",
        "charge-controller",
        pages=(README, CONTROLLER_DOC),
    ),
    Row(
        code(t.controller_switch(BASE, NAME)),
        "out",
        "yes",
        "`ON` / `OFF` of a surplus load",
        "charge-controller",
        pages=(README, CONTROLLER_DOC),
    ),
    Row(
        "your meter topic(s)",
        "in",
        "retained ignored",
        "number or JSON (Tasmota SML, Shelly, …), see "
        "[meter examples](docs/charge-controller.md#meter-examples)",
        "your meter",
        pages=(README, CONTROLLER_DOC),
    ),
    Row(
        "`battery.soc_topic` (optional)",
        "in",
        "either",
        "percent, number or JSON (`battery.soc_json_path`)",
        "your BMS",
        pages=(CONTROLLER_DOC,),
    ),
    Row(
        "`ev.wallbox_topic` (optional)",
        "in",
        "either",
        "W, number or JSON (`ev.json_path`, `ev.scale`)",
        "wallbox / evcc",
        pages=(CONTROLLER_DOC,),
    ),
    Row(
        f"switch `command_topic` (default {code(t.controller_switch(BASE, NAME) + '/command')})",
        "out",
        "no",
        "`payload_on` / `payload_off`",
        "charge-controller",
        pages=(CONTROLLER_DOC,),
    ),
    Row(
        code(t.ha_status_topic()),
        "in",
        "–",
        "`online` → discovery is published again",
        "Home Assistant",
    ),
    Row(
        code(t.ha_device_topic("<node>")),
        "out",
        "yes",
        "device discovery: `<base>_vehicle_<name>`, `<base>_bic_<unit>`, `<base>_controller` "
        "([Home Assistant](docs/home-assistant.md))",
        "wican-soc, bic-gateway, charge-controller",
    ),
    Row(
        "`sim/wican/<id>/set`, `sim/meter/…`, `<base>/sim/bic/<unit>/…`",
        "sim",
        "no",
        "simulator controls and the simulated AC power ([simulators](docs/simulators.md))",
        "simulators",
        pages=(README, CONTROLLER_DOC, VEHICLES_DOC),
    ),
)
