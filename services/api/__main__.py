"""`python -m services.api`: the health & config service (FastAPI on uvicorn)."""

from __future__ import annotations

import uvicorn

from services.api.app import create_app
from services.api.auth import load_token
from services.api.settings import ApiSettings
from shared.cli_help import parse_command_line
from shared.runtime import build_runtime
from shared.settings import ConfigError, load_settings


def main() -> None:
    parse_command_line("python -m services.api", __doc__, ApiSettings)
    settings = load_settings(ApiSettings)
    runtime = build_runtime("api", settings)
    try:
        token = load_token(settings)
    except ConfigError as exc:
        runtime.log.error("invalid_configuration", reason=str(exc))
        raise SystemExit(2) from exc
    if token is None:
        runtime.log.warning("api_token_missing", reason="write endpoints answer 503")
    app = create_app(runtime, settings, token)
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=True,
        timeout_graceful_shutdown=5,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
