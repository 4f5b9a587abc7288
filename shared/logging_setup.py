"""One logging pipeline for every service.

structlog renders JSON lines to stdout (containers, CI) or a readable console
when stdout is a TTY. The stdlib root logger is routed through the same
renderer, so paho, python-can and uvicorn logs come out in the same format.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

LogFormat = Literal["auto", "json", "console"]

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


def level_number(level: str) -> int:
    """Map a level name (case-insensitive) to its stdlib number; ValueError names the choices."""
    try:
        return _LEVELS[level.lower()]
    except KeyError:
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(_LEVELS)}") from None


class LastError:
    """The most recent error-level event of this process (the heartbeat reports it)."""

    value: dict[str, object] | None = None

    @classmethod
    def processor(
        cls, _logger: WrappedLogger, method_name: str, event_dict: EventDict
    ) -> EventDict:
        if method_name in ("error", "critical", "exception") or event_dict.get("level") in (
            "error",
            "critical",
        ):
            cls.value = {
                "time": event_dict.get("timestamp"),
                "event": event_dict.get("event"),
                "reason": event_dict.get("reason"),
            }
        return event_dict


def configure_logging(
    service: str, level: str = "info", fmt: LogFormat = "auto", stream: TextIO | None = None
) -> None:
    """Configure structlog and stdlib logging for `service`.

    Every event carries `service`; `fmt="auto"` picks console on a TTY, JSON otherwise.
    """
    stream = stream or sys.stdout
    numeric = level_number(level)
    if fmt == "auto":
        fmt = "console" if stream.isatty() else "json"
    renderer = (
        structlog.dev.ConsoleRenderer(colors=False)
        if fmt == "console"
        else structlog.processors.JSONRenderer()
    )

    def add_service(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_service,
        LastError.processor,
        structlog.processors.StackInfoRenderer(),
    ]
    exc = [structlog.processors.dict_tracebacks] if fmt == "json" else []
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *exc, renderer],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    # Health probes hit the API every few seconds; keep them out of INFO.
    logging.getLogger("uvicorn.access").setLevel(max(numeric, logging.WARNING))
