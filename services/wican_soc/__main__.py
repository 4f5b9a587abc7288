"""`python -m services.wican_soc` runs the service;
`python -m services.wican_soc record [--out FILE]` stores raw `can/rx` traffic as JSON lines;
`python -m services.wican_soc replay FILE --profile NAME` decodes a recording (no broker);
`python -m services.wican_soc detect --device ID` tries the profiles' read requests on a car.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if argv and argv[0] == "record":
        from services.wican_soc.record import main as record

        return record(argv[1:])
    if argv and argv[0] == "replay":
        from services.wican_soc.replay import main as replay

        return replay(argv[1:])
    if argv and argv[0] == "detect":
        from services.wican_soc.detect_cli import main as detect

        return detect(argv[1:])
    if argv and argv[0] not in ("-h", "--help"):
        print(
            f"unknown command {argv[0]!r}; use record, replay, detect or no argument",
            file=sys.stderr,
        )
        return 2
    from services.wican_soc.service import WicanSoc
    from services.wican_soc.settings import WicanSocSettings
    from shared.cli_help import parse_command_line

    parse_command_line(
        "python -m services.wican_soc [record|replay|detect]", __doc__, WicanSocSettings, argv=argv
    )
    from shared.runtime import build_runtime, run_service
    from shared.settings import load_settings

    runtime = build_runtime("wican-soc", load_settings(WicanSocSettings))
    run_service(runtime, WicanSoc(runtime).setup)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
