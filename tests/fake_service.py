"""A minimal service built only from the shared runtime, for tests that need a
second service next to the API before the real ones exist.

Usage: python tests/fake_service.py <service-name>
"""

from __future__ import annotations

import sys

from shared.runtime import build_runtime, run_service
from shared.settings import ServiceSettings, load_settings


def main() -> None:
    name = sys.argv[1]
    runtime = build_runtime(name, load_settings(ServiceSettings))
    run_service(runtime, lambda rt: lambda: None)


if __name__ == "__main__":
    main()
