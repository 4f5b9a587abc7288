"""Bearer-token check for the API's write endpoints."""

from __future__ import annotations

import hmac

from fastapi import Header, HTTPException

from services.api.settings import ApiSettings
from shared.settings import ConfigError


def load_token(settings: ApiSettings) -> str | None:
    if settings.token_file is not None:
        try:
            return settings.token_file.read_text().strip() or None
        except OSError as exc:
            raise ConfigError(
                f"token_file: cannot read {settings.token_file}: {exc.strerror}"
            ) from exc
    return settings.token


def token_dependency(token: str | None):
    """A FastAPI dependency that admits only `Authorization: Bearer <token>`."""

    def require(authorization: str | None = Header(default=None)) -> None:
        if token is None:
            raise HTTPException(503, "write endpoints are off: no API token is configured")
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), token):
            raise HTTPException(
                401, "missing or wrong token", headers={"WWW-Authenticate": "Bearer"}
            )

    return require
