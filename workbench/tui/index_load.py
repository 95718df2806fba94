"""The search index as the app loads it after the first paint: search waits for it, the palette uses it once there."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.search.index import SearchIndex


class IndexLoad:
    """One background load of the search index: the app fills it in, the search screen and the palette read it."""

    def __init__(self) -> None:
        self.index: SearchIndex | None = None
        """The loaded index, or None (not loaded yet, or it failed)."""
        self.error = ""
        """Why the index could not be loaded, or ""."""
        self.done = threading.Event()
        """Set once the index has loaded (or failed to, or the app is leaving)."""
