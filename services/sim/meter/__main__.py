"""`python -m services.sim.meter`: smart-meter simulator for the `sim` profile and `make demo`."""

from __future__ import annotations

from services.sim.meter.settings import MeterSimSettings
from services.sim.meter.simulator import MeterSimulator
from shared.cli_help import parse_command_line
from shared.runtime import build_runtime, run_service
from shared.settings import load_settings


def main() -> None:
    parse_command_line("python -m services.sim.meter", __doc__, MeterSimSettings)
    settings = load_settings(MeterSimSettings)
    runtime = build_runtime("sim-meter", settings)
    simulator = MeterSimulator(runtime, settings)
    run_service(runtime, lambda _rt: simulator.setup())


if __name__ == "__main__":
    main()
