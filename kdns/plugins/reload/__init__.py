"""*reload*: reloads the server when the Corefile (or a file it imports) changes."""

from kdns.plugins.reload import setup as setup
