"""`python -m services.sim.wican`: cars behind WiCAN adapters (docs/simulators.md)."""

from __future__ import annotations

import signal

from services.sim.wican.service import WicanSimulator
from services.sim.wican.settings import SimWicanSettings
from shared.cli_help import parse_command_line
from shared.logging_setup import configure_logging
from shared.settings import load_settings


def main() -> None:
    parse_command_line("python -m services.sim.wican", __doc__, SimWicanSettings)
    settings = load_settings(SimWicanSettings)
    configure_logging("sim-wican", settings.log_level, settings.log_format)
    sim = WicanSimulator(settings)
    signal.signal(signal.SIGTERM, lambda *_: sim.stop_event.set())
    signal.signal(signal.SIGINT, lambda *_: sim.stop_event.set())
    sim.log.info(
        "sim_starting",
        cars=[(car.device_id, str(car.cars_file or car.profile)) for car in settings.car_list()],
    )
    sim.run()
    sim.log.info("sim_stopped")


if __name__ == "__main__":
    main()
