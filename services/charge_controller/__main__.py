"""`python -m services.charge_controller`: zero-export control of the BIC-2200 over MQTT."""

from __future__ import annotations

from services.charge_controller.discovery import announce
from services.charge_controller.service import SERVICE, ControllerService
from services.charge_controller.settings import ChargeControllerSettings
from services.charge_controller.unconfigured import setup_unconfigured
from shared.cli_help import parse_command_line
from shared.contract.topics import controller_topic
from shared.ha_discovery import DiscoveryPublisher
from shared.runtime import build_runtime, run_service
from shared.settings import load_settings


def main() -> None:
    parse_command_line(
        "python -m services.charge_controller",
        __doc__,
        ChargeControllerSettings,
        ChargeControllerSettings.section,
    )
    settings = load_settings(ChargeControllerSettings)
    runtime = build_runtime(SERVICE, settings)
    if settings.meter is None:
        state_topic = controller_topic(settings.base_topic, "state")
        run_service(runtime, lambda rt: setup_unconfigured(rt, state_topic))
        return
    service = ControllerService(runtime, settings)

    def setup(rt):
        stop = service.setup()
        publisher = DiscoveryPublisher.from_settings(rt.client, settings.homeassistant)
        announce(publisher, settings.base_topic)
        return stop

    run_service(runtime, setup)


if __name__ == "__main__":
    main()
