"""One logging pipeline: JSON with the service name, stdlib loggers included."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from shared.logging_setup import configure_logging, level_number


@pytest.fixture(autouse=True)
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def lines(stream):
    return [json.loads(x) for x in stream.getvalue().splitlines()]


def test_json_lines_carry_service_level_and_time():
    out = io.StringIO()
    configure_logging("wican-soc", "info", "json", stream=out)
    structlog.get_logger("x").info("soc_published", soc=82.1)
    (rec,) = lines(out)
    assert rec["event"] == "soc_published" and rec["soc"] == 82.1
    assert rec["service"] == "wican-soc" and rec["level"] == "info"
    assert rec["timestamp"].endswith("Z")


def test_stdlib_and_paho_logs_use_the_same_pipeline():
    out = io.StringIO()
    configure_logging("api", "debug", "json", stream=out)
    logging.getLogger("paho").warning("socket closed %s", "early")
    (rec,) = lines(out)
    assert rec == {
        **rec,
        "event": "socket closed early",
        "logger": "paho",
        "service": "api",
        "level": "warning",
    }


def test_level_filters_debug():
    out = io.StringIO()
    configure_logging("api", "warning", "json", stream=out)
    structlog.get_logger().info("hidden")
    structlog.get_logger().warning("shown")
    assert [r["event"] for r in lines(out)] == ["shown"]


def test_exceptions_are_structured_in_json():
    out = io.StringIO()
    configure_logging("api", "info", "json", stream=out)
    try:
        raise ValueError("bad frame")
    except ValueError:
        structlog.get_logger().exception("decode_failed")
    (rec,) = lines(out)
    assert rec["exception"][0]["exc_type"] == "ValueError"


def test_auto_picks_console_on_a_tty():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    out = Tty()
    configure_logging("api", "info", "auto", stream=out)
    structlog.get_logger().info("hello", n=1)
    text = out.getvalue()
    assert "hello" in text and "n=1" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_unknown_level_names_the_choices():
    with pytest.raises(ValueError, match="debug, info"):
        level_number("loud")


def test_last_error_is_remembered_for_the_heartbeat():
    from shared.logging_setup import LastError

    out = io.StringIO()
    configure_logging("api", "info", "json", stream=out)
    LastError.value = None
    structlog.get_logger().warning("not_an_error")
    assert LastError.value is None
    structlog.get_logger().error("can_timeout", reason="unit 0 did not answer")
    logging.getLogger("paho").info("fine")
    assert LastError.value["event"] == "can_timeout"
    assert LastError.value["reason"] == "unit 0 did not answer"
    assert LastError.value["time"].endswith("Z")
