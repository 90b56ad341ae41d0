"""*log*: query logging in Common Log Format (or a format of your own)."""

from kdns.plugins.log import setup as setup
