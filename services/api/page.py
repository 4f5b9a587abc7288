"""The status page at `/`: server-rendered HTML, refreshed by the browser every few seconds."""

from __future__ import annotations

from html import escape
from typing import Any

REFRESH_S = 5

#: first key present wins (payload field names of the services' state topics)
SOC_KEYS = ("soc",)
BATTERY_POWER_KEYS = ("ac_power", "dc_power")
GRID_POWER_KEYS = ("grid_w",)


def pick(data: object, keys: tuple[str, ...]) -> float | None:
    if not isinstance(data, dict):
        return None
    for key in keys:
        value = data.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
    return None


def _num(value: float | None, unit: str, digits: int = 0) -> str:
    return "–" if value is None else f"{value:.{digits}f} {unit}"


def _age(entry: dict[str, Any] | None) -> str:
    return "" if entry is None else f'<span class="age">{entry["age_s"]:.0f} s ago</span>'


def _state(service: dict[str, Any]) -> str:
    if service["up"]:
        return "up"
    return "failing" if service.get("problem") else "down"


def render(
    health: dict[str, Any],
    vehicles: dict[str, Any],
    bic: dict[str, Any],
    controller: dict[str, Any] | None,
) -> str:
    cards = []
    for name, entry in vehicles.items():
        soc = pick(entry["value"], SOC_KEYS)
        cards.append(
            f'<div class="card" data-kind="vehicle" data-name="{escape(name)}">'
            f'<h2>{escape(name)}</h2><p class="big" data-field="soc">{_num(soc, "%", 1)}</p>'
            f"<p>State of Charge {_age(entry)}</p></div>"
        )
    for unit, parts in bic.items():
        state = parts.get("state")
        power = pick(state["value"] if state else None, BATTERY_POWER_KEYS)
        cards.append(
            f'<div class="card" data-kind="bic" data-name="{escape(unit)}">'
            f"<h2>Battery (BIC unit {escape(unit)})</h2>"
            f'<p class="big" data-field="power">{_num(power, "W")}</p>'
            f"<p>+ charging, − discharging {_age(state)}</p></div>"
        )
    grid = pick(controller["value"] if controller else None, GRID_POWER_KEYS)
    cards.append(
        '<div class="card" data-kind="grid"><h2>Grid</h2>'
        f'<p class="big" data-field="grid">{_num(grid, "W")}</p>'
        f"<p>+ import, − export {_age(controller)}</p></div>"
    )
    rows = "".join(
        f'<tr class="{"up" if s["up"] else "down"}"><td>{escape(name)}</td>'
        f"<td>{_state(s)}</td><td>{escape(s.get('reason') or '')}</td>"
        f"<td>{escape(str(s.get('version') or ''))}</td></tr>"
        for name, s in health["services"].items()
    )
    overall = "all services up" if health["status"] == "pass" else "attention needed"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{REFRESH_S}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>canbridge</title>
<style>
body{{font-family:system-ui,sans-serif;margin:1.5rem;background:#f6f7f9;color:#222}}
.cards{{display:flex;flex-wrap:wrap;gap:1rem}}
.card{{background:#fff;border-radius:8px;padding:1rem 1.25rem;min-width:12rem;
box-shadow:0 1px 3px #0002}}
.card h2{{font-size:1rem;margin:0 0 .25rem}} .big{{font-size:2rem;margin:.25rem 0}}
.age{{color:#777;font-size:.85rem}} table{{border-collapse:collapse;margin-top:1rem}}
td,th{{padding:.3rem .8rem;text-align:left}} tr.up td:nth-child(2){{color:#1a7f37}}
tr.down td:nth-child(2){{color:#c62828;font-weight:bold}}
</style></head>
<body><h1>canbridge</h1>
<p id="overall">{overall} · MQTT {"connected" if health["mqtt_connected"] else "disconnected"}</p>
<div class="cards">{"".join(cards)}</div>
<h2>Services</h2>
<table id="services"><tr><th>service</th><th>state</th><th>reason</th><th>version</th></tr>
{rows}</table>
<p class="age">Refreshes every {REFRESH_S} s · <a href="/docs">API</a></p>
</body></html>"""
