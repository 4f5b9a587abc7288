"""YAML documents (the config file, vehicle profiles, the simulator's car catalogue), parsed
fast and refused with a readable error."""

from __future__ import annotations

from typing import Any

import yaml

#: libyaml's safe loader when PyYAML was built with it (the wheels are), else the pure-Python one
_FAST: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """What `yaml.safe_load` returns, parsed by libyaml: about ten times faster than the
    pure-Python parser, which matters because every wican-soc start reads all vehicle profiles.

    A document libyaml refuses is parsed again by the pure-Python loader: its `YAMLError`
    quotes the offending line with a caret under the column, libyaml's only names the line."""
    try:
        return yaml.load(text, Loader=_FAST)  # noqa: S506 (a safe loader)
    except yaml.YAMLError:
        if _FAST is yaml.SafeLoader:
            raise
        return yaml.safe_load(text)
