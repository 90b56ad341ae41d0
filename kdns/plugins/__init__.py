"""Every in-tree plugin, imported here so their ``@directive`` registrations happen in one place."""

from kdns.plugins import (
    whoami,
)

__all__ = [
    "whoami",
]
