"""`python -m services.wican_status`: request vehicle values while their WiCAN is online."""

from __future__ import annotations

from services.wican_status.service import WicanStatus
from services.wican_status.settings import WicanStatusSettings
from shared.cli_help import parse_command_line
from shared.runtime import build_runtime, run_service
from shared.settings import load_settings


def main() -> None:
    parse_command_line("python -m services.wican_status", __doc__, WicanStatusSettings)
    runtime = build_runtime("wican-status", load_settings(WicanStatusSettings))
    run_service(runtime, WicanStatus(runtime).setup)


if __name__ == "__main__":
    main()
