"""*prometheus*: exports kdns's metrics on ``/metrics`` and counts every query of its blocks."""

from kdns.plugins.prometheus import setup as setup
