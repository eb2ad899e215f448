"""The admin's control room: health dashboard, live events, per-target delivery history and redelivery.

Server-rendered admin pages (templates under ``admin/hooks/``); JavaScript
only for the live event stream (``hooks/static/hooks/live.js``). Every view is
wrapped in ``admin_site.admin_view`` (active staff only, others are sent to
the login page) and checks the model permission it needs: view for pages,
change for redelivery. Reads come from ``hooks.health`` and ``hooks.history``,
writes from ``hooks.delivery``'s redelivery services.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme

from events.catalog import EVENT_CATALOG
from events.errors import DomainError

from . import delivery, health, history
from .delivery.targets import MODELS as TARGET_MODELS
from .delivery.targets import AnyTarget
from .models import Delivery
from .redaction import redact_headers

# --- The chart ----------------------------------------------------------------------

CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 560, 120, 4


@dataclass
class Bar:
    x: float
    width: float
    bucket: health.OutcomeBucket
    segments: list[tuple[str, float, float, int]]  # (css class, y, height, count)


def chart_bars(buckets: list[health.OutcomeBucket]) -> list[Bar]:
    """Stacked bars (succeeded at the bottom, then failed, then skipped) scaled to the busiest bucket."""
    peak = max((bucket.total for bucket in buckets), default=0) or 1
    slot = CHART_WIDTH / max(len(buckets), 1)
    bars = []
    for index, bucket in enumerate(buckets):
        y = float(CHART_HEIGHT)
        segments = []
        for css, count in (("ok", bucket.succeeded), ("failed", bucket.failed), ("skipped", bucket.skipped)):
            height = (CHART_HEIGHT - CHART_PAD) * count / peak
            y -= height
            if count:
                segments.append((css, round(y, 2), round(height, 2), count))
        bars.append(Bar(x=round(index * slot + 1, 2), width=round(slot - 2, 2), bucket=bucket, segments=segments))
    return bars


def _chart_context(buckets: list[health.OutcomeBucket]) -> dict[str, Any]:
    return {
        "bars": chart_bars(buckets),
        "chart_width": CHART_WIDTH,
        "chart_height": CHART_HEIGHT,
        "chart_total": sum(bucket.total for bucket in buckets),
        "chart_failed": sum(bucket.failed for bucket in buckets),
    }


# --- Site-level pages ---------------------------------------------------------------


def _can_view_targets(request: HttpRequest) -> bool:
    user = request.user
    return any(user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}") for model in TARGET_MODELS)


def history_url(target: AnyTarget) -> str:
    """The delivery history page of ``target``, whatever its kind (its ModelAdmin has TargetPagesMixin)."""
    info = target._meta.app_label, target._meta.model_name
    return reverse("admin:{}_{}_deliveries".format(*info), args=[target.pk])


def dashboard_view(request: HttpRequest) -> HttpResponse:
    """Every target's health (every kind), and the outcomes of the last 7 days."""
    if not _can_view_targets(request):
        raise PermissionDenied
    board = health.dashboard()
    context = {
        **admin.site.each_context(request),
        "title": "Delivery health",
        "board": board,
        "rows": [(entry, history_url(entry.target), entry.target._meta.verbose_name) for entry in board.targets],
        "kinds": [
            (
                model._meta.verbose_name_plural,
                reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"),
            )
            for model in TARGET_MODELS
        ],
        "percentile_method": health.percentile_method(),
        **_chart_context(board.buckets),
    }
    return TemplateResponse(request, "admin/hooks/dashboard.html", context)


def live_view(request: HttpRequest) -> HttpResponse:
    """The /ws/events/ stream in the browser, with the admin's session (no token)."""
    context = {
        **admin.site.each_context(request),
        "title": "Live events",
        "event_names": list(EVENT_CATALOG),
    }
    return TemplateResponse(request, "admin/hooks/live.html", context)


def site_urls() -> list[URLPattern]:
    """The dashboard and the live page, staff only (composed in sublarr/urls.py before the admin's own)."""
    return [
        path("dashboard/", admin.site.admin_view(dashboard_view), name="hooks-dashboard"),
        path("live/", admin.site.admin_view(live_view), name="hooks-live"),
    ]


# --- Per target: history, redelivery, list columns ----------------------------------


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


class TargetPagesMixin(admin.ModelAdmin):
    """For any target kind's ModelAdmin: delivery history, redelivery, health columns and links."""

    change_list_template = "admin/hooks/target_change_list.html"

    # -- URLs

    def get_urls(self) -> list[URLPattern]:
        info = self.model._meta.app_label, self.model._meta.model_name
        view = self.admin_site.admin_view
        own = [
            path("<int:pk>/deliveries/", view(self.deliveries_view), name="{}_{}_deliveries".format(*info)),
            path(
                "<int:pk>/deliveries/<int:delivery_id>/redeliver/",
                view(self.redeliver_view),
                name="{}_{}_redeliver".format(*info),
            ),
            path(
                "<int:pk>/deliveries/redeliver-failed/",
                view(self.redeliver_range_view),
                name="{}_{}_redeliver_failed".format(*info),
            ),
        ]
        return own + super().get_urls()

    def _history_url(self, pk: int) -> str:
        info = self.model._meta.app_label, self.model._meta.model_name
        return reverse("admin:{}_{}_deliveries".format(*info), args=[pk], current_app=self.admin_site.name)

    def _target(self, request: HttpRequest, pk: int, *, change: bool = False) -> AnyTarget:
        target: AnyTarget = get_object_or_404(self.model, pk=pk)
        allowed = self.has_change_permission(request, target) if change else self.has_view_permission(request, target)
        if not allowed:
            raise PermissionDenied
        return target

    def _page_context(self, request: HttpRequest, target: AnyTarget, title: str) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "original": target,
            "target": target,
            "history_url": self._history_url(target.pk),
        }

    # -- History

    def deliveries_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        target = self._target(request, pk)
        form = history.HistoryFilterForm(request.GET or None)
        status = 200
        filters: dict[str, Any] = {}
        if form.is_bound and not form.is_valid():
            status = 400
        elif form.is_bound:
            filters = {key: form.cleaned_data[key] for key in ("outcome", "since", "until")}
        page = history.delivery_history(
            target, **filters, page=(form.cleaned_data.get("page") or 1) if status == 200 and form.is_bound else 1
        )
        query = request.GET.copy()
        query.pop("page", None)
        for item in page.deliveries:
            item.body_json = json.dumps(item.envelope, indent=2, ensure_ascii=False)  # type: ignore[attr-defined]  # shown only
            for log in item.attempt_logs:  # type: ignore[attr-defined]  # set by the prefetch (to_attr)
                log.shown_request_headers = redact_headers(log.request_headers)
                log.shown_response_headers = redact_headers(log.response_headers)
        context = {
            **self._page_context(request, target, f"Deliveries of {target.name}"),
            "form": form,
            "history": page,
            "query": query.urlencode(),
            "range_query": "&".join(
                f"{key}={request.GET[key]}" for key in ("since", "until") if request.GET.get(key) and status == 200
            ),
            "can_redeliver": self.has_change_permission(request, target),
            "kind": target.kind,
            **_chart_context(health.outcome_buckets(target=target)),
        }
        return TemplateResponse(request, "admin/hooks/history.html", context, status=status)

    # -- Redelivery

    def redeliver_view(self, request: HttpRequest, pk: int, delivery_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        target = self._target(request, pk, change=True)
        field = target.target_field
        item = get_object_or_404(Delivery.objects.select_related(field), pk=delivery_id, **{field: target})
        try:
            delivery.delivery_redeliver(delivery=item)
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Delivery {item.pk} ({item.event_name}) queued again.")
        return HttpResponseRedirect(_safe_next(request, self._history_url(target.pk)))

    def redeliver_range_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """GET: how many failed deliveries the window holds, and a confirm button; POST: queue them again."""
        target = self._target(request, pk, change=True)
        form = history.RangeForm(request.POST if request.method == "POST" else request.GET)
        context = self._page_context(request, target, f"Redeliver failed deliveries of {target.name}")
        if not form.is_valid():
            return TemplateResponse(
                request, "admin/hooks/redeliver_confirm.html", {**context, "form": form}, status=400
            )
        since, until = form.cleaned_data["since"], form.cleaned_data["until"]
        if request.method != "POST":
            count = history.redeliverable_in_window(target, since=since, until=until).count()
            return TemplateResponse(
                request, "admin/hooks/redeliver_confirm.html", {**context, "form": form, "count": count}
            )
        try:
            count = self._redeliver_window(target, since=since, until=until)
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Queued {count} failed or skipped delivery(ies) of {target.name} again.")
        return HttpResponseRedirect(self._history_url(target.pk))

    @staticmethod
    def _redeliver_window(target: AnyTarget, *, since: Any, until: Any) -> int:
        # The one range service, for every kind (the confirmation counted history.redeliverable_in_window).
        return delivery.redeliver_target(target, since=since, until=until)

    # -- Changelist: health columns, computed for the page's rows at once

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        changelist = super().get_changelist_instance(request)
        rows = list(changelist.result_list)
        by_target = {id(entry.target): entry for entry in health.targets_health(targets=rows)}
        for row in rows:
            row.health = by_target.get(id(row))
        return changelist

    @admin.display(description="Success 24 h")
    def health_24h(self, obj: AnyTarget) -> str:
        return _rate(getattr(obj, "health", None), "24h")

    @admin.display(description="Success 7 d")
    def health_7d(self, obj: AnyTarget) -> str:
        return _rate(getattr(obj, "health", None), "7d")

    @admin.display(description="p50 / p95 (24 h)")
    def health_latency(self, obj: AnyTarget) -> str:
        entry = getattr(obj, "health", None)
        if entry is None or not entry.day.runs:
            return "-"
        return f"{_ms(entry.day.p50_ms)} / {_ms(entry.day.p95_ms)}"

    @admin.display(description="Last success")
    def health_last_success(self, obj: AnyTarget) -> str:
        entry = getattr(obj, "health", None)
        if entry is None or entry.last_success_at is None:
            return "never"
        from django.utils.timesince import timesince

        return f"{timesince(entry.last_success_at)} ago"

    @admin.display(description="Deliveries")
    def history_link(self, obj: AnyTarget) -> str:
        return format_html('<a href="{}">history</a>', self._history_url(obj.pk))


def _rate(entry: health.TargetHealth | None, window: str) -> str:
    if entry is None:
        return "-"
    stats = entry.windows[window]
    if stats.success_rate is None:
        return "no runs"
    return f"{stats.success_rate:.1f} % of {stats.runs}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


HEALTH_COLUMNS = ["health_24h", "health_7d", "health_latency", "health_last_success", "history_link"]
