"""Dashboard test helpers: an API with a history file and a token; services with a config."""

from __future__ import annotations

from pathlib import Path

from harness import Api

TOKEN = "dashboard-test-token"


def api_with_history(service, tmp_path: Path, **env: str) -> Api:
    return Api(
        service,
        CANBRIDGE_TOKEN=TOKEN,
        CANBRIDGE_HISTORY__FILE=str(tmp_path / "history.sqlite"),
        CANBRIDGE_HISTORY__FLUSH_INTERVAL_S="0.5",
        **env,
    )


def with_config(module: str, path: Path) -> list[str]:
    """`python -m module` reading `path` (the harness clears CANBRIDGE_CONFIG for services)."""
    return [
        "-c",
        f"import os, runpy; os.environ['CANBRIDGE_CONFIG'] = {str(path)!r}; "
        f"runpy.run_module({module!r}, run_name='__main__')",
    ]
