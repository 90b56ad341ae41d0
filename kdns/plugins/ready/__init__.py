"""*ready*: ``/ready`` answers 200 once every plugin that can tell is ready, 503 before and when stopping."""

from kdns.plugins.ready import setup as setup
