"""Incoming sources (an *arr app or a media server that posts to sublarr) and the record of every request."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class SourceKind(models.TextChoices):
    SONARR = "sonarr", "Sonarr"
    RADARR = "radarr", "Radarr"
    JELLYFIN = "jellyfin", "Jellyfin (webhook plugin)"
    PLEX = "plex", "Plex"
    EMBY = "emby", "Emby"
    GENERIC = "generic", "Generic (normalized JSON)"


class IncomingSource(models.Model):
    """One app allowed to post to ``/api/incoming/<name>/``, with its credentials and path mappings."""

    name = models.SlugField(max_length=64, unique=True, help_text="Part of the URL: /api/incoming/<name>/.")
    kind = models.CharField(max_length=16, choices=SourceKind.choices)
    enabled = models.BooleanField(default=True)
    # SHA-256 hex of the generated key (a 256-bit random value needs no slow hash):
    # the key itself is shown once, when generated, and never stored.
    api_key_hash = models.CharField(max_length=64)
    # Optional HTTP Basic credentials (Sonarr/Radarr's webhook has username/password fields).
    basic_username = models.CharField(max_length=150, blank=True)
    # "<salt hex>$<sha256 hex of salt + password>"; empty = no Basic password set.
    basic_password_hash = models.CharField(max_length=200, blank=True)
    # [{"remote": "/tv", "local": "/media/tv"}, ...]; the longest matching remote prefix wins.
    path_mappings = models.JSONField(default=list, blank=True)
    # Updated at most once a minute (incoming.services.LAST_REQUEST_RESOLUTION).
    last_request_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "incoming source"

    def __str__(self) -> str:
        return self.name

    @property
    def has_basic_auth(self) -> bool:
        return bool(self.basic_username and self.basic_password_hash)


class IncomingRequest(models.Model):
    """One request to an incoming endpoint and what became of it (kept SUBLARR_INCOMING_LOG_RETENTION_DAYS)."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "Accepted (event emitted)"
        TEST = "test", "Test"
        IGNORED = "ignored", "Ignored (event type not handled)"
        REJECTED = "rejected", "Rejected"

    request_id = models.UUIDField(default=uuid.uuid4, unique=True)
    source = models.ForeignKey(
        IncomingSource, null=True, blank=True, on_delete=models.SET_NULL, related_name="requests"
    )
    # The name in the URL at the time (kept when the source is deleted, or when there was none).
    source_name = models.CharField(max_length=64)
    source_kind = models.CharField(max_length=16, blank=True)
    app_event = models.CharField(max_length=100, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    status_code = models.PositiveSmallIntegerField()
    error = models.TextField(blank=True)
    event_id = models.UUIDField(null=True, blank=True)
    duration_ms = models.FloatField(default=0)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["-received_at"], name="incoming_request_recent"),
            models.Index(fields=["source", "-received_at"], name="incoming_request_source"),
        ]

    def __str__(self) -> str:
        return f"{self.source_name} {self.app_event or '-'}: {self.outcome}"
