"""`/metrics`: the dashboard's values and the services' health in the Prometheus text format.

Built at scrape time from the same summary the dashboard shows (``dashboard_state``), with the
standard client library's metric families in a registry of our own (no process-global state).
A value that is not known is left out rather than reported as 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

MODES = ("auto", "hold", "manual", "winter", "off")


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"canbridge_{name}", doc, labels=labels or [])


def _set(family, labels: list[str], value: object) -> None:
    if isinstance(value, bool):
        value = float(value)
    if isinstance(value, int | float):
        family.add_metric(labels, float(value))


def families(summary: dict[str, Any], history: dict[str, float] | None) -> list[Metric]:
    """The metric families for one summary (pure)."""
    health = summary.get("health") or {}
    up = _gauge("service_up", "1 while the service is online with fresh heartbeats", ["service"])
    hb_age = _gauge(
        "service_heartbeat_age_seconds", "seconds since the service's last heartbeat", ["service"]
    )
    for name, s in sorted((health.get("services") or {}).items()):
        _set(up, [name], bool(s.get("up")))
        _set(hb_age, [name], s.get("heartbeat_age_s"))
    mqtt = _gauge("mqtt_connected", "1 while the API is connected to the broker")
    _set(mqtt, [], bool(health.get("mqtt_connected")))
    out: list[Metric] = [up, hb_age, mqtt]

    c = summary.get("controller")
    configured = _gauge("controller_configured", "0 while the controller has no grid meter")
    out.append(configured)
    if c is not None:
        _set(configured, [], bool(c.get("configured")))
    if c and c.get("configured"):
        mode = _gauge("controller_mode", "1 for the controller's current mode", ["mode"])
        for m in MODES:
            _set(mode, [m], c.get("mode") == m)
        out.append(mode)
        for key, name, doc in (
            ("grid_w", "grid_power_watts", "grid power, > 0 import"),
            ("battery_w", "battery_power_watts", "battery AC power, > 0 charging"),
            ("setpoint_w", "setpoint_watts", "the controller's setpoint, > 0 charging"),
            ("target_w", "target_grid_power_watts", "grid power the controller holds"),
            ("soc_pct", "battery_soc_percent", "home battery state of charge"),
        ):
            g = _gauge(name, doc)
            _set(g, [], c.get(key))
            out.append(g)
        limits = c.get("limits") or {}
        for key, name in (("max_charge_w", "charge"), ("max_discharge_w", "discharge")):
            g = _gauge(f"max_{name}_watts", f"the controller's active {name} limit")
            _set(g, [], limits.get(key))
            out.append(g)

    per_unit = {
        "voltage": _gauge("bic_voltage_volts", "battery voltage", ["unit"]),
        "current": _gauge("bic_current_amperes", "battery current, > 0 charging", ["unit"]),
        "power_w": _gauge("bic_power_watts", "AC power estimate, > 0 charging", ["unit"]),
        "temperature": _gauge("bic_temperature_celsius", "internal temperature", ["unit"]),
    }
    online = _gauge("bic_online", "1 while the unit answers on the CAN bus", ["unit"])
    fault = _gauge("bic_fault_active", "1 per active fault or alarm flag", ["unit", "flag"])
    eeprom = CounterMetricFamily(
        "canbridge_bic_eeprom_writes", "EEPROM writes counted by the gateway", labels=["unit"]
    )
    budget = _gauge("bic_eeprom_write_budget", "EEPROM writes the gateway allows", ["unit"])
    today = _gauge("bic_energy_today_kwh", "DC energy since local midnight", ["unit", "direction"])
    for b in summary.get("batteries") or []:
        unit = str(b["unit"])
        for key, family in per_unit.items():
            _set(family, [unit], b.get(key))
        if b.get("online") in ("online", "offline"):
            _set(online, [unit], b["online"] == "online")
        for f in b.get("faults") or []:
            _set(fault, [unit, str(f["name"])], 1)
        _set(eeprom, [unit], (b.get("eeprom") or {}).get("writes"))
        _set(budget, [unit], (b.get("eeprom") or {}).get("budget"))
        for direction, value in (b.get("energy_today_kwh") or {}).items():
            _set(today, [unit, direction], value)
    out += [*per_unit.values(), online, fault, eeprom, budget, today]

    soc = _gauge("vehicle_soc_percent", "the car's state of charge", ["vehicle"])
    soh = _gauge("vehicle_soh_percent", "the car's battery state of health", ["vehicle"])
    age = _gauge("vehicle_soc_age_seconds", "seconds since the SoC was received", ["vehicle"])
    adapter = _gauge("vehicle_adapter_online", "1 while the car's WiCAN is online", ["vehicle"])
    for v in summary.get("vehicles") or []:
        _set(soc, [v["name"]], v.get("soc"))
        _set(soh, [v["name"]], v.get("soh"))
        _set(age, [v["name"]], v.get("age_s"))
        if v.get("adapter") in ("online", "offline"):
            _set(adapter, [v["name"]], v["adapter"] == "online")
    out += [soc, soh, age, adapter]

    if history is not None:
        rows = CounterMetricFamily("canbridge_history_rows_written", "rows written to history")
        _set(rows, [], history.get("rows_written"))
        size = _gauge("history_file_bytes", "bytes the history database uses")
        _set(size, [], history.get("used_bytes"))
        out += [rows, size]
    return out


class _SummaryCollector(Collector):
    def __init__(self, source: Callable[[], tuple[dict[str, Any], dict[str, float] | None]]):
        self.source = source

    def collect(self) -> Iterable[Metric]:
        return families(*self.source())


def registry_for(
    source: Callable[[], tuple[dict[str, Any], dict[str, float] | None]],
) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SummaryCollector(source))
    return registry
