"""`python -m services.sim.bic`: simulated BIC-2200 units on a CAN bus (udp_multicast).

MQTT (user `sim`):
* ``<base>/sim/bic/<unit>/ac_power`` -- physical AC power in W (+ drawn from the grid), every
  ``publish_interval_s``, for the meter simulator to close the loop;
* ``<base>/sim/bic/<unit>/state`` -- JSON: soc, voltage, current, ac_power, write counters;
* ``<base>/sim/bic/<unit>/set/mute`` -- ``1``/``0``: stop/resume answering (availability tests);
* ``<base>/sim/bic/<unit>/set/power_cycle`` -- any payload: re-power (EEPROM values, battery mode).
"""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt

from services.bic_gateway.can_bus import open_bus
from services.bic_gateway.models import MODELS
from shared.cli_help import parse_command_line
from shared.runtime import ServiceRuntime, build_runtime, run_service
from shared.settings import load_settings

from .bus_loop import SimBusLoop
from .device import SimulatedBic
from .settings import SimBicSettings

REQUEST_BASE = 0x000C0300


def main() -> None:
    parse_command_line("python -m services.sim.bic", __doc__, SimBicSettings)
    settings = load_settings(SimBicSettings)
    # status and heartbeat under <base>/sim/ (the `sim` user may write only there)
    runtime = build_runtime("sim/bic", settings)
    model = MODELS[settings.model]
    units = {
        address: SimulatedBic.create(
            address,
            model,
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

    def setup(rt: ServiceRuntime):
        bus = open_bus(settings.can, accept_base=REQUEST_BASE)
        loop = SimBusLoop(bus, list(units.values()), settings.step_s).start()
        rt.log.info(
            "sim_bic_started",
            interface=settings.can.interface,
            channel=settings.can.resolved_channel(),
            units=list(units),
            model=model.name,
        )

        def on_set(msg: mqtt.MQTTMessage) -> None:
            parts = msg.topic.split("/")
            if msg.retain or not parts[-3].isdigit() or int(parts[-3]) not in units:
                return
            unit = units[int(parts[-3])]
            with loop.lock:
                if parts[-1] == "mute":
                    unit.muted = msg.payload.strip().lower() in (b"1", b"true", b"on")
                    rt.log.info("sim_bic_mute", unit=unit.address, muted=unit.muted)
                elif parts[-1] == "power_cycle":
                    unit.power_cycle()
                    rt.log.info("sim_bic_power_cycle", unit=unit.address)

        rt.client.subscribe(f"{base}/+/set/+", on_set)
        stop = threading.Event()

        def publish() -> None:
            while not stop.wait(settings.publish_interval_s):
                for address, unit in units.items():
                    with loop.lock:
                        snap = unit.snapshot()
                    rt.client.publish(
                        f"{base}/{address}/ac_power",
                        str(snap["ac_power"]),
                        expiry_s=max(1, round(3 * settings.publish_interval_s)),
                    )
                    rt.client.publish_json(f"{base}/{address}/state", snap)
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
