"""Grid power rendered like real meters publish it (docs/charge-controller.md#meter-examples).

* ``tasmota``: Tasmota SML ``tele/<x>/SENSOR`` JSON, path ``SML.Power_curr``;
* ``shelly3em``: Shelly Pro 3EM ``status/em:0`` JSON, path ``total_act_power``;
* ``plain``: a bare number (Home Assistant statestream, ESPHome, evcc, OpenDTU);
* ``plain_kw``: a bare number in kW (scale 1000 in the controller).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Literal

Format = Literal["tasmota", "shelly3em", "plain", "plain_kw"]

#: controller meter source settings that read each format
READ_WITH: dict[str, dict[str, object]] = {
    "tasmota": {"json_path": "SML.Power_curr"},
    "shelly3em": {"json_path": "total_act_power"},
    "plain": {},
    "plain_kw": {"scale": 1000},
}


def render(fmt: Format, grid_w: float, now: datetime | None = None) -> bytes:
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S")
    body: dict[str, object]
    if fmt == "tasmota":
        sml = {"Total_in": 0.0, "Total_out": 0.0, "Power_curr": round(grid_w)}
        body = {"Time": stamp, "SML": sml}
    elif fmt == "shelly3em":
        phase = round(grid_w / 3, 1)
        body = {
            "id": 0,
            "a_act_power": phase,
            "b_act_power": phase,
            "c_act_power": round(grid_w - 2 * phase, 1),
            "total_act_power": round(grid_w, 1),
        }
    elif fmt == "plain":
        return f"{grid_w:.1f}".encode()
    elif fmt == "plain_kw":
        return f"{grid_w / 1000:.4f}".encode()
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return json.dumps(body, separators=(",", ":")).encode()
