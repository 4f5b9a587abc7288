"""Reading ``online``/``offline`` and on/off words: one way for every service. No I/O.

A status comes as bare text (``online``, what every canbridge service and Home Assistant say)
or as a WiCAN's JSON (``{"status": "online"}``); case and surrounding blanks do not matter.
Whatever else arrives is *unknown* (None), and each reader decides what unknown means for it:
the controller treats an unknown unit availability as offline, the gateway idles only on a
clear ``offline``.
"""

from __future__ import annotations

from typing import Literal

from shared.payload_limits import SMALL_LIMITS, PayloadRejected, decode_json, decode_text

ONLINE: Literal["online"] = "online"
OFFLINE: Literal["offline"] = "offline"

Status = Literal["online", "offline"]


def parse_status(payload: bytes | bytearray | str) -> Status | None:
    """``online``/``offline`` from a status message (bare text or ``{"status": ...}``), None if
    it says neither (or is beyond ``SMALL_LIMITS``)."""
    try:
        text = decode_text(payload, SMALL_LIMITS)
    except PayloadRejected:
        return None
    try:
        message = decode_json(text, SMALL_LIMITS)
    except PayloadRejected as exc:
        if exc.cause != "not_json":
            return None
        message = text
    if isinstance(message, dict):
        message = message.get("status")
    if not isinstance(message, str):
        return None
    state = message.strip().lower()
    if state == ONLINE:
        return ONLINE
    if state == OFFLINE:
        return OFFLINE
    return None


def is_online(payload: bytes | bytearray | str) -> bool:
    return parse_status(payload) == ONLINE


def is_offline(payload: bytes | bytearray | str) -> bool:
    return parse_status(payload) == OFFLINE


#: the words a command may use for a switch (case and surrounding blanks or quotes ignored)
ON_WORDS = frozenset({"on", "true", "enable", "enabled", "1"})
OFF_WORDS = frozenset({"off", "false", "disable", "disabled", "0"})


def parse_switch(text: str) -> bool | None:
    """True/False for an on/off word, None for anything else."""
    word = text.strip().strip('"').strip().lower()
    if word in ON_WORDS:
        return True
    if word in OFF_WORDS:
        return False
    return None
