"""*whoami*: answers with the client's address and port."""

from kdns.plugins.whoami import setup as setup
