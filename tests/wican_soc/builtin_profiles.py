"""The shipped vehicle profiles, read once per test process.

Eight test modules parametrise over them at import, so every pytest-xdist worker read all
the profile files eight times while collecting (0.4 s CPU each). The profiles are shared
between those modules: a test that needs a changed profile makes a `model_copy`.
"""

from __future__ import annotations

from functools import cache

from services.wican_soc.profiles import Profile, load_profiles


@cache
def _loaded() -> dict[str, Profile]:
    return load_profiles()


def builtin_profiles() -> dict[str, Profile]:
    """The built-in profiles by name (a new dict; the Profile objects are shared)."""
    return dict(_loaded())
