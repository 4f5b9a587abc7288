"""A mapping that holds at most `size` keys (pure).

The API keeps one entry per service, unit or vehicle named by a topic level, and anyone who may
publish there chooses that name: without a bound, a stream of invented names grows the process
forever. When the map is full, a new key replaces the least recently updated entry that
`may_drop(key, value)` allows to go; if none may go, the new key is refused. The default drops
nothing, so entries that exist (a sleeping car's last SoC) are never pushed out by a flood.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any


def _never(_key: Any, _value: Any) -> bool:
    return False


class BoundedMap(OrderedDict):
    def __init__(self, size: int, may_drop: Callable[[Any, Any], bool] = _never) -> None:
        super().__init__()
        if size < 1:
            raise ValueError("size must be at least 1")
        self.size = size
        self.may_drop = may_drop
        self.refused = 0  # new keys turned away because nothing could make room
        self.dropped = 0  # entries pushed out for a new key

    def __setitem__(self, key: Any, value: Any) -> None:
        if key not in self and len(self) >= self.size:
            victim = next((k for k, v in self.items() if self.may_drop(k, v)), None)
            if victim is None:
                self.refused += 1
                return
            del self[victim]
            self.dropped += 1
        super().__setitem__(key, value)
        self.move_to_end(key)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        """The entry for `key`, created if there is room; None if `key` was refused."""
        if key not in self:
            self[key] = default
        return self.get(key)
