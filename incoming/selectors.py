"""Reads: the source a request names, and the request records."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import IncomingRequest, IncomingSource


def source_by_name(name: str) -> IncomingSource | None:
    return IncomingSource.objects.filter(name=name).first()


def request_list(*, source_id: int | None = None, outcome: str | None = None) -> QuerySet[IncomingRequest]:
    """Request records, newest first, optionally of one source and one outcome."""
    queryset = IncomingRequest.objects.all()
    if source_id is not None:
        queryset = queryset.filter(source_id=source_id)
    if outcome:
        queryset = queryset.filter(outcome=outcome)
    return queryset
