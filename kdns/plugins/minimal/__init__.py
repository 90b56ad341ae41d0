"""*minimal*: minimal responses, no authority or additional section in positive answers."""

from kdns.plugins.minimal import setup as setup
