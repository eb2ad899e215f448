"""Keep the SQLite channel layer's tables in their own database, and only those."""

from __future__ import annotations

from typing import Any

from channels_lite.router import ChannelsRouter


class EmbeddedChannelsRouter(ChannelsRouter):
    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        if app_label in self.route_app_labels:
            return db == self.database
        return db != self.database
