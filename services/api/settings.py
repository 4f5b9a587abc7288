"""Settings of the health & config service (config-file section `api`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import ServiceSettings


class ApiSettings(ServiceSettings):
    section: ClassVar[str] = "api"

    http_host: str = "0.0.0.0"
    http_port: int = Field(8080, ge=1, le=65535)
    #: a service counts as down after this many heartbeat intervals without one
    stale_after_missed: int = Field(3, ge=1, le=100)
    #: services that must be present; missing ones are reported down (others appear when seen)
    expected_services: list[str] = []
