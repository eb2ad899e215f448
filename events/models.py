"""No tables: ``CatalogEvent`` only gives the admin a place to show the catalog."""

from __future__ import annotations

from django.db import models


class CatalogEvent(models.Model):
    """The event catalog in the admin (read-only, from code; never stored)."""

    name = models.CharField(max_length=100, primary_key=True)

    class Meta:
        managed = False
        verbose_name = "catalog event"
        verbose_name_plural = "event catalog"
        default_permissions = ("view",)

    def __str__(self) -> str:
        return self.name
