"""Keep the SQLite channel layer's tables in their own database, and only those."""

from __future__ import annotations

from typing import Any


class EmbeddedChannelsRouter:
    """Route channels_lite to the "channels" database and everything else away from it.

    (channels_lite's own router asks the configured channel layer for its
    database, which is wrong whenever another layer is configured, as in tests.)
    """

    app_labels = {"channels_lite"}
    database = "channels"

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return self.database if model._meta.app_label in self.app_labels else None

    db_for_write = db_for_read

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        if app_label in self.app_labels:
            return db == self.database
        return db != self.database
