"""*bind*: listen on given addresses or interfaces instead of every address."""

from kdns.plugins.bind import setup as setup
