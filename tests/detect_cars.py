"""Recorded cars for the detect tests: a profile's raw test-vector reply, as the sim plays it."""

from __future__ import annotations

from services.wican_soc.profiles import Profile


def car_entry(profile: Profile, name: str, frames: list[bytes] | None = None) -> dict:
    """The simulator's cars-file entry answering `profile`'s request with its raw vector."""
    request = profile.request_frame()
    head = 1 if profile.extended_address else 0
    return {
        "name": name,
        "request_id": profile.request_id,
        "extended": profile.extended,
        "request": request[: head + 1 + len(profile.request)].hex(" "),
        "response_id": profile.response_id,
        "flow_control_id": profile.flow_control_id(profile.response_id),
        "address": profile.extended_address.ecu if profile.extended_address else None,
        "frames": [frame.hex(" ") for frame in (frames or profile.test_vector.frames)],
    }
