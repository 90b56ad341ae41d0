"""Keep long-lived data out of the cyclic garbage collector's full passes: freeze it now and then.

A full collection walks every tracked object, so with a big cache (an entry is one tracked object)
it pauses the event loop for tens of milliseconds. Cache entries are freed by reference counting,
never by the collector, so they need not be walked at all: after every ``FREEZE_EVERY`` new
long-lived objects (the caches report them through ``grew``), a young collection clears recent
cyclic garbage and ``gc.freeze()`` moves everything alive into the permanent generation, which
collections skip. Only cyclic garbage already promoted to the oldest generation at that moment is
kept for good, which in a server that has been serving for a while is next to nothing.
"""

from __future__ import annotations

import gc

#: new long-lived objects between two freezes
FREEZE_EVERY = 10_000

_grown = 0


def grew(n: int = 1) -> None:
    """``n`` objects that live long (cache entries) were made; freeze the heap every ``FREEZE_EVERY``."""
    global _grown
    _grown += n
    if _grown >= FREEZE_EVERY:
        freeze()


def freeze() -> None:
    """Collect the young generations, then move every tracked object out of the collector's view."""
    global _grown
    _grown = 0
    gc.collect(1)
    gc.freeze()
