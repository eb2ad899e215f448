"""Incoming webhooks from Sonarr, Radarr, Jellyfin, Plex and Emby, normalized into ``webhook_received``.

Sits on the ``events`` layer only: it emits events and knows nothing of
``hooks`` or ``scoring``.
"""
