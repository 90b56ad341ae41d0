"""cache: a success and denial cache in front of the rest of the chain, answering hits from wire bytes."""

from kdns.plugins.cache import setup

__all__ = ["setup"]
