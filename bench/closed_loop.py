"""Closed-loop simulation of one strategy on a house trace, and the perfect-foresight bound.

Meter: Tasmota SML JSON payloads every ``meter_period_s`` (seeded phase), delivered after
``METER_LATENCY_S`` and parsed by the service's ``meter_input``; strategies see arrival times.
Gateway: a battery reading (AC power, voltage) every ``BATTERY_POLL_S``. Strategy tick: 1 s.
A strategy with a ``keepalive_s`` attribute (ours, like the service) re-sends its setpoint
that long after the last send; the gateway converts watts to a current at the present battery
voltage, so the re-send corrects the power drift of a fixed current as the voltage moves
(counted as a write only when that current changes).
Plant: ``services.sim.bic_plant`` (the same for every strategy), stepped every ``dt``; its BMS
cut-off (max_soc/min_soc) is what makes the battery full or empty. SoC and every state carry
over midnight within a house trace of several days.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from bench.baselines import BatteryView
from bench.strategies import MAX_CHARGE_W, MAX_DISCHARGE_W, PLANT, Strategy
from services.charge_controller.meter_input import MeterConfig, MeterInput, MeterSource
from services.sim.bic_plant import BicPlant

DT_S = 0.25
METER_LATENCY_S = 0.5
BATTERY_POLL_S = 1.0
TICK_S = 1.0
METER_TOPIC = "tele/meter/SENSOR"


@dataclass(frozen=True)
class House:
    """House net power (W, + import, no battery) once per second, from a local clock time."""

    net_w: np.ndarray
    start_clock_s: int = 0
    start_soc: float = 0.5
    seed: int = 1

    def at(self, dt: float) -> np.ndarray:
        return np.repeat(self.net_w.astype(float), round(1 / dt))


@dataclass(frozen=True)
class RunTrace:
    grid_w: np.ndarray  # per dt step
    battery_w: np.ndarray  # per dt step, + charging
    setpoint_w: np.ndarray  # per dt step: last value written to the unit
    soc: np.ndarray  # per dt step
    write_steps: np.ndarray  # dt-step index of every write


def simulate(
    house: House,
    strategy: Strategy,
    meter_period_s: float,
    dt: float = DT_S,
    meter_latency_s: float = METER_LATENCY_S,
) -> RunTrace:
    """Meter samples -> payload -> meter_input -> strategy -> plant, every ``dt``; each sample
    arrives ``meter_latency_s`` after it was taken."""
    net = house.at(dt)
    n = len(net)
    plant = BicPlant(PLANT, soc=house.start_soc)
    meter = MeterInput(
        MeterConfig(sources=[MeterSource(topic=METER_TOPIC, json_path="SML.Power_curr")])
    )
    phase = np.random.default_rng(house.seed + 1000).uniform(0, meter_period_s)
    sample_every = max(1, round(meter_period_s / dt))
    first_sample = round(phase / dt)
    latency_steps = round(meter_latency_s / dt)
    poll_every, tick_every = round(BATTERY_POLL_S / dt), round(TICK_S / dt)
    in_flight: deque[tuple[int, bytes]] = deque()
    battery = np.empty(n, dtype=np.float32)
    setpoints = np.empty(n, dtype=np.float32)
    soc = np.empty(n, dtype=np.float32)
    writes: list[int] = []
    last_written, last_amps, last_sent = 0.0, 0.0, 0.0
    keepalive = getattr(strategy, "keepalive_s", None)
    clock0 = house.start_clock_s
    net_list = net.tolist()
    params = plant.params

    def send(setpoint: float | None, step: int, force: bool = False) -> None:
        """A new setpoint, or (``force``) the same one again; the gateway turns watts into a
        current at the present voltage, so a re-send is a write when that current changed."""
        nonlocal last_written, last_amps, last_sent
        if setpoint is None or (setpoint == last_written and not force):
            return
        amps = plant.current_for(setpoint)
        last_sent = step * dt
        if setpoint != last_written or amps != last_amps:
            plant.command(setpoint)
            writes.append(step)
        last_written, last_amps = setpoint, amps

    for i in range(n):
        t = i * dt
        ac = plant.ac_power_w
        battery[i] = ac
        soc[i] = plant.soc
        if i % poll_every == 0:
            view = BatteryView(
                ac, plant.voltage_v, plant.dc_power_w, params.open_circuit_voltage(plant.soc)
            )
            strategy.observe_battery(t, view)
        if i % tick_every == 0:
            send(strategy.tick(t, clock0 + t), i)
            if keepalive is not None and t - last_sent >= keepalive:
                send(last_written, i, force=True)
        if i >= first_sample and (i - first_sample) % sample_every == 0:
            payload = b'{"SML":{"Power_curr":%d}}' % round(net_list[i] + ac)
            in_flight.append((i + latency_steps, payload))
        while in_flight and in_flight[0][0] <= i:
            result = meter.ingest(METER_TOPIC, in_flight.popleft()[1], t)
            if result.sample is not None:
                send(strategy.on_sample(t, result.sample, clock0 + t), i)
        setpoints[i] = last_written
        plant.step(dt)
    return RunTrace(
        grid_w=net + battery,
        battery_w=battery,
        setpoint_w=setpoints,
        soc=soc,
        write_steps=np.array(writes, dtype=np.int64),
    )


def oracle_grid(house: House, dt: float = DT_S) -> np.ndarray:
    """Perfect-foresight greedy dispatch with the plant's power, energy and loss limits.

    For minimising import + export energy, serving every instant as fully as the limits allow
    is optimal (holding energy back can at best be repaid 1:1 later). No dead time, no minimum
    current: a lower bound for any controller starting from the same SoC."""
    p = PLANT
    net = house.at(dt)
    soc, capacity_ws = house.start_soc, p.capacity_wh * 3600
    battery = np.empty(len(net))
    for i, load in enumerate(net.tolist()):
        want = min(MAX_CHARGE_W, max(-MAX_DISCHARGE_W, -load))
        voltage = p.open_circuit_voltage(soc)
        dc = p.dc_from_ac(want)
        if dc > 0:
            dc = min(dc, p.max_dc_w(voltage, True), (p.max_soc - soc) * capacity_ws / dt)
        else:
            dc = max(dc, -p.max_dc_w(voltage, False), -(soc - p.min_soc) * capacity_ws / dt)
        dc = max(dc, 0.0) if want > 0 else min(dc, 0.0)
        soc += dc * dt / capacity_ws
        battery[i] = p.ac_from_dc(dc)
    return net + battery
