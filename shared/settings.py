"""The settings pattern every service uses.

Precedence (highest first): environment variables (`CANBRIDGE_<FIELD>`, nested
fields with `__`, e.g. `CANBRIDGE_MQTT__HOST`), then the YAML config file named
by `CANBRIDGE_CONFIG` (top-level keys shared by all services, a section named
after the service overriding them), then the model defaults.

`load_settings` turns a validation error into a message that names the key and
exits non-zero, so a typo never starts a service with a silent default.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from shared.yaml_text import load_yaml

ENV_PREFIX = "CANBRIDGE_"
CONFIG_ENV = "CANBRIDGE_CONFIG"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key."""


class MqttSettings(BaseModel):
    """How a service reaches the broker."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None  # default: the service's own user name
    password: str | None = Field(None, repr=False)
    password_file: Path | None = None  # read at start-up; wins over `password` when set
    keepalive_s: int = Field(30, ge=5, le=3600)
    reconnect_min_s: float = Field(1.0, gt=0, le=60)
    # the broker is local: trying every few seconds costs nothing, and after a broker
    # restart the services are back (and re-assert their retained state) within 4 s
    reconnect_max_s: float = Field(4.0, gt=0, le=600)
    max_queued_messages: int = Field(1000, ge=0)

    def resolved_password(self) -> str | None:
        if self.password_file is None:
            return self.password
        try:
            return self.password_file.read_text().strip()
        except OSError as exc:
            raise ConfigError(
                f"mqtt.password_file: cannot read {self.password_file}: {exc.strerror}"
            ) from exc

    def tool_login(self, service_user: str, tool_user: str) -> MqttSettings:
        """Settings for a tool that runs beside `service_user` (e.g. in its container).

        The broker holds one connection per login, so a tool must not reuse the service's
        login: that would drop the running service. When the configured login is the
        service's (or none), the tool gets `tool_user`, with the password file of that
        name next to the configured one (/secrets/<user>); a login chosen on purpose stays.
        """
        if self.username not in (None, service_user):
            return self
        update: dict[str, object] = {"username": tool_user}
        if self.password_file is not None:
            update["password_file"] = self.password_file.with_name(tool_user)
        return self.model_copy(update=update)


class ServiceSettings(BaseSettings):
    """Fields every service has; each service subclasses this with its own section."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid"
    )
    #: name of the config-file section of this service (also its MQTT user name)
    section: ClassVar[str] = "service"

    base_topic: str = "canbridge"
    mqtt: MqttSettings = MqttSettings()
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"
    heartbeat_interval_s: float = Field(10.0, gt=0, le=3600)
    instance: str = ""  # suffix for the MQTT client id when two copies must coexist
    #: rewritten (with the interval) on every heartbeat while connected; read by
    #: `python -m shared.healthcheck`
    health_file: Path | None = Path("/tmp/canbridge-heartbeat")

    def redacted(self) -> dict[str, Any]:
        """The effective settings as JSON-ready data, secrets replaced by "***"."""
        redacted: dict[str, Any] = redact(self.model_dump(mode="json"))  # same shape
        return redacted

    @field_validator("health_file", mode="before")
    @classmethod
    def _empty_is_off(cls, v: object) -> object:
        """An empty value (`CANBRIDGE_HEALTH_FILE=`) turns the file off, as `null` does.

        Read as a path it was the working directory: each heartbeat then tried to replace
        that folder with a file (refused, silently), could leave a temporary file in it, and
        the container check failed with a traceback."""
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("base_topic")
    @classmethod
    def _plain_topic(cls, v: str) -> str:
        if not v:
            raise ValueError("must not be empty")
        return check_topic(v)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlSource(settings_cls))


class _YamlSource(PydanticBaseSettingsSource):
    """Values from the YAML file named by CANBRIDGE_CONFIG (top level + service section)."""

    def get_field_value(  # pragma: no cover - unused by __call__
        self, field: FieldInfo, field_name: str
    ) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = os.environ.get(CONFIG_ENV)
        if not path:
            return {}
        data = read_config_file(Path(path))
        section = getattr(self.settings_cls, "section", "service")
        merged = {k: v for k, v in data.items() if k not in _SECTIONS}
        own = data.get(section) or {}
        if not isinstance(own, dict):
            raise ConfigError(f"{path}: section '{section}' must be a mapping")
        for key, value in own.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        return merged


S = TypeVar("S", bound=ServiceSettings)

#: Config-file sections that belong to one service each (not shared top-level keys).
_SECTIONS = {
    "api",
    "wican-status",
    "wican-soc",
    "bic-gateway",
    "charge-controller",
    "broker-setup",
    "sim-wican",
    "sim-bic",
    "sim-meter",
}


SECRET_WORDS = ("password", "token", "secret")


def redact(data: Any) -> Any:
    """Replace the value of every key naming a secret (but not a *_file path) with "***"."""
    if isinstance(data, dict):
        return {
            k: ("***" if v is not None and _is_secret(k) else redact(v)) for k, v in data.items()
        }
    if isinstance(data, list):
        return [redact(v) for v in data]
    return data


def _is_secret(key: str) -> bool:
    key = key.lower()
    return any(w in key for w in SECRET_WORDS) and not key.endswith("_file")


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{CONFIG_ENV}={path}: cannot read: {exc.strerror}") from exc
    try:
        data = load_yaml(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    return data


def check_topic(value: str) -> str:
    """A publishable topic or prefix: no wildcards, no leading or trailing '/'."""
    if any(c in value for c in "#+") or value.startswith("/") or value.endswith("/"):
        raise ValueError("must be a topic without wildcards or leading/trailing '/'")
    return value


def describe_validation_error(exc: ValidationError, root: str = "<root>") -> str:
    """One line per problem: `key.path: message (got value)`."""
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or root
        got = err.get("input")
        shown = "" if isinstance(got, dict) else f" (got {got!r})"
        lines.append(f"{key}: {err['msg']}{shown}")
    return "; ".join(lines)


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Build the settings or exit(2) with a message naming the offending key."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        sys.stderr.write(
            f"invalid configuration for {cls.section}: {describe_validation_error(exc)}\n"
        )
    except ConfigError as exc:
        sys.stderr.write(f"invalid configuration for {cls.section}: {exc}\n")
    raise SystemExit(2)
