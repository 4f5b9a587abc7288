"""`python -m services.charge_controller`: zero-export control of the BIC-2200 over MQTT."""

from __future__ import annotations

from services.charge_controller.service import SERVICE, ControllerService
from services.charge_controller.settings import ChargeControllerSettings
from shared.runtime import build_runtime, run_service
from shared.settings import load_settings


def main() -> None:
    settings = load_settings(ChargeControllerSettings)
    runtime = build_runtime(SERVICE, settings)
    service = ControllerService(runtime, settings)
    run_service(runtime, lambda _rt: service.setup())


if __name__ == "__main__":
    main()
