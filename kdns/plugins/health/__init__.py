"""*health*: ``/health`` answers 200 OK while the process runs; ``lameduck`` delays the stop."""

from kdns.plugins.health import setup as setup
