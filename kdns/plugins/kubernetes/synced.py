"""The "first sync done" flag every object source keeps (files or API watches)."""

from __future__ import annotations

import asyncio


class Synced:
    """``synced()`` and ``wait_synced(timeout)`` over an event a source sets after its first full read."""

    def __init__(self) -> None:
        self._synced = asyncio.Event()

    def synced(self) -> bool:
        return self._synced.is_set()

    async def wait_synced(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._synced.wait(), timeout)
        except TimeoutError:
            pass
        return self.synced()
