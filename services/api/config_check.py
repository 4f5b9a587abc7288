"""`python -m services.api.config_check [FILE]`: check a canbridge YAML before starting the stack.

In compose: `docker compose run --rm --no-deps api python -m services.api.config_check`
(FILE defaults to $CANBRIDGE_CONFIG, /config/canbridge.yaml there). Names every unknown key and
impossible value and says what each service would do. Exit 0: fine, 1: problems, 2: unreadable.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from services.api.config_review import report, review
from shared.settings import CONFIG_ENV, ConfigError, read_config_file

DEFAULT = "config/canbridge.yaml"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and args[0] in ("-h", "--help")):
        print(
            f"usage: python -m services.api.config_check [-h, --help] [FILE]\n\n{__doc__.strip()}"
        )
        return 0 if args and args[0] in ("-h", "--help") else 2
    path = Path(args[0] if args else os.environ.get(CONFIG_ENV, DEFAULT))
    try:
        data = read_config_file(path)
    except ConfigError as exc:
        print(f"config check: {exc}", file=sys.stderr)
        return 2
    result = review(data)
    print(report(str(path), result))
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
