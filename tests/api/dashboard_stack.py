"""Dashboard test helpers: an API with a history file and a token; services with a config."""

from __future__ import annotations

from pathlib import Path

from harness import Api


def api_with_history(service, **env: str) -> Api:
    """The API with its history written every 0.5 s (the file: the harness's, per test)."""
    return Api(service, CANBRIDGE_HISTORY__FLUSH_INTERVAL_S="0.5", **env)


def api_token(broker) -> str:
    """The token the API reads (broker-setup generates it, as in compose)."""
    return (broker.secrets_dir / "api-token").read_text().strip()


def with_config(module: str, path: Path) -> list[str]:
    """`python -m module` reading `path` (the harness clears CANBRIDGE_CONFIG for services)."""
    return [
        "-c",
        f"import os, runpy; os.environ['CANBRIDGE_CONFIG'] = {str(path)!r}; "
        f"runpy.run_module({module!r}, run_name='__main__')",
    ]
