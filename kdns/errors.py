"""One exception tree for kdns."""

from __future__ import annotations

import dns.rcode


class KdnsError(Exception):
    """Root of every error kdns raises on purpose."""


class ConfigError(KdnsError):
    """A Corefile or plugin configuration error, located at FILE:LINE.

    ``str()`` gives the one line the CLI prints: ``FILE:LINE: plugin/NAME: message``.
    """

    def __init__(self, msg: str, *, file: str = "", line: int = 0, plugin: str = "") -> None:
        self.msg = msg
        self.file = file
        self.line = line
        self.plugin = plugin
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file or 'Corefile'}:{self.line}: " if self.line else f"{self.file}: " if self.file else ""
        who = f"plugin/{self.plugin}: " if self.plugin else ""
        msg = self.msg.replace("\r", "\\r").replace("\n", "\\n")  # always one line
        return f"{where}{who}{msg}"


class PluginError(KdnsError):
    """A failure a plugin knows about; the server answers with ``rcode`` if nothing was written."""

    def __init__(self, plugin: str, msg: str, rcode: int = dns.rcode.SERVFAIL) -> None:
        self.plugin = plugin
        self.msg = msg
        self.rcode = rcode
        super().__init__(f"plugin/{plugin}: {msg}")


class NoNextPlugin(PluginError):
    """The last plugin handed off and there was nobody after it."""

    def __init__(self, plugin: str) -> None:
        super().__init__(plugin, "no next plugin found")
