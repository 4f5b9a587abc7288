"""`--help` for the long-running entry points, which take their options from settings.

A service reads its options from the environment (`CANBRIDGE_<FIELD>`) and the config
file, not from its command line. `parse_command_line` still gives every entry point an
honest command line: `--help` prints what it does and every option with its variable and
default, and exits 0 before anything starts; any other argument is refused (exit 2), so a
mistyped flag never starts a service with its defaults.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from shared.settings import CONFIG_ENV, ENV_PREFIX


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        return "(computed)"
    value = field.default
    if value is None or value == "":
        return "(none)"
    return str(value) if isinstance(value, Path) else repr(value)


def options_text(settings_cls: type[BaseModel], prefix: str = ENV_PREFIX, key: str = "") -> str:
    """One line per settings field (nested sections expanded): key, variable, default."""
    lines = []
    for name, field in settings_cls.model_fields.items():
        if isinstance(field.default, BaseModel):
            nested = type(field.default)
            lines.append(options_text(nested, f"{prefix}{name.upper()}__", f"{key}{name}."))
            continue
        text = f"  {key + name:<28} {prefix}{name.upper()}, default {_default(field)}"
        if field.description:
            text += f": {field.description}"
        lines.append(text)
    return "\n".join(lines)


def parse_command_line(
    prog: str,
    description: str,
    settings_cls: type[BaseModel] | None = None,
    extra: str = "",
    argv: Sequence[str] | None = None,
) -> None:
    """Answer `--help` (exit 0) or refuse arguments (exit 2); return if there are none."""
    epilog = []
    if settings_cls is not None:
        section = getattr(settings_cls, "section", None)
        where = f" (config section `{section}`)" if section else ""
        epilog.append(
            f"Options{where}, set in the YAML file named by {CONFIG_ENV} or as environment "
            f"variables (nested ones with __, e.g. {ENV_PREFIX}MQTT__HOST):\n"
            + options_text(settings_cls)
        )
    if extra:
        epilog.append(extra)
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog="\n\n".join(epilog) or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(argv)
