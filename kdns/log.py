"""CoreDNS-style log lines: ``[INFO] plugin/NAME: message``."""

from __future__ import annotations

import logging
import sys

ROOT = "kdns"


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        level = "WARNING" if record.levelno == logging.WARNING else record.levelname
        name = record.name
        prefix = ""
        if name.startswith(ROOT + ".plugin.") and not getattr(record, "bare", False):  # bare: *log* lines
            prefix = "plugin/" + name[len(ROOT) + 8 :] + ": "
        msg = f"[{level}] {prefix}{record.getMessage()}"
        if record.exc_info:
            msg += "\n" + self.formatException(record.exc_info)
        return msg


def setup(quiet: bool = False, stream: object = None) -> None:
    """Send kdns logs to stderr (or ``stream``) in CoreDNS's format."""
    root = logging.getLogger(ROOT)
    for h in list(root.handlers):
        root.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(_Formatter())
    root.addHandler(handler)
    root.setLevel(logging.WARNING if quiet else logging.INFO)
    root.propagate = False


def plugin_logger(name: str) -> logging.Logger:
    """The logger for plugin ``name``; its lines read ``[LEVEL] plugin/name: ...``."""
    return logging.getLogger(f"{ROOT}.plugin.{name}")


def logger(name: str) -> logging.Logger:
    """A logger for a core module (no plugin prefix)."""
    return logging.getLogger(f"{ROOT}.{name}")
