"""`python -m services.sim.bic`: simulated Mean Well BIC-2200 (or NPB) units on a CAN bus.

MQTT (user `sim`), ``<unit>`` = the unit's address:
* ``<base>/sim/bic/<unit>/ac_power`` -- physical AC power in W (+ drawn from the grid), every
  ``publish_interval_s``, for the meter simulator to close the loop;
* ``<base>/sim/bic/<unit>/state`` -- JSON: soc, voltage, current, ac_power, write counters,
  faults, violations (``report`` echoes the payload of the last ``set/report``);
* ``<base>/sim/bic/<unit>/violations`` -- JSON, one message per protocol violation;
* ``<base>/sim/bic/<unit>/set/<command>`` -- ``mute`` 1/0, ``power_cycle``, ``soc`` 0..1,
  ``fault/<name>`` 1/0 (over_temperature, ac_fail, fan_fail, hv_ovp, eeprom_error),
  ``reset_violations``, ``report`` (publish the state now).
"""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt

from shared.cli_help import parse_command_line
from shared.runtime import ServiceRuntime, build_runtime, run_service
from shared.settings import load_settings

from .bus_loop import SimBusLoop
from .control import ControlError, apply_command
from .device import SimulatedBic
from .settings import SimBicSettings


def main() -> None:
    parse_command_line("python -m services.sim.bic", __doc__, SimBicSettings)
    settings = load_settings(SimBicSettings)
    # status and heartbeat under <base>/sim/ (the `sim` user may write only there)
    runtime = build_runtime("sim/bic", settings)
    units = {
        address: SimulatedBic.create(
            address,
            settings.model,
            soc=settings.soc,
            provisioned=settings.provisioned,
            eep_off_supported=settings.eep_off_supported,
            fans_supported=settings.fans_supported,
            system_config=settings.system_config,
            capacity_wh=settings.capacity_wh,
            dead_time_s=settings.dead_time_s,
            time_constant_s=settings.time_constant_s,
        )
        for address in settings.units
    }
    base = f"{settings.base_topic}/sim/bic"
    request_base = next(iter(units.values())).family.request_base
    reports: dict[int, str] = {}

    def setup(rt: ServiceRuntime):
        bus = settings.can.open(accept_base=request_base)
        loop = SimBusLoop(bus, list(units.values()), settings.step_s, settings.timing()).start()
        rt.log.info(
            "sim_bic_started",
            interface=settings.can.interface,
            channel=settings.can.channel,
            units=list(units),
            model=settings.model,
            lost_reply_rate=settings.lost_reply_rate,
        )
        stop = threading.Event()

        def publish_unit(address: int, unit: SimulatedBic) -> None:
            with loop.lock:
                snap = unit.snapshot()
                new = unit.violations.take_unpublished()
            if address in reports:
                snap["report"] = reports[address]
            for violation in new:
                rt.log.warning("sim_bic_violation", unit=address, **violation.as_dict())
                rt.client.publish_json(f"{base}/{address}/violations", violation.as_dict())
            rt.client.publish(
                f"{base}/{address}/ac_power",
                str(snap["ac_power"]),
                expiry_s=max(1, round(3 * settings.publish_interval_s)),
            )
            rt.client.publish_json(f"{base}/{address}/state", snap)

        def on_set(msg: mqtt.MQTTMessage) -> None:
            parts = msg.topic[len(base) + 1 :].split("/")
            if msg.retain or len(parts) < 3 or not parts[0].isdigit():
                return
            unit = units.get(int(parts[0]))
            if unit is None:
                return
            command = "/".join(parts[2:])
            text = msg.payload.decode("utf-8", "replace").strip()
            try:
                with loop.lock:
                    done = apply_command(unit, command, text)
            except ControlError as exc:
                rt.log.error("sim_bic_command_refused", unit=unit.address, command=command,
                             error=str(exc))  # fmt: skip
                return
            rt.log.info("sim_bic_command", unit=unit.address, command=command, result=done)
            if command == "report":
                reports[unit.address] = text
                publish_unit(unit.address, unit)

        rt.client.subscribe(f"{base}/+/set/#", on_set)

        def publish() -> None:
            while not stop.wait(settings.publish_interval_s):
                for address, unit in units.items():
                    publish_unit(address, unit)
                rt.heartbeat.mark_activity()

        publisher = threading.Thread(target=publish, name="sim-bic-publish", daemon=True)
        publisher.start()

        def on_stop() -> None:
            stop.set()
            loop.stop()
            bus.shutdown()

        return on_stop

    run_service(runtime, setup)


if __name__ == "__main__":
    main()
