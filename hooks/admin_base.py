"""What every target kind's admin shares: its actions (test, enable, disable, reset, redeliver), the health filter."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from . import delivery

# "Test now" runs synchronously in the request: keep a selection small.
MAX_TESTS_PER_ACTION = 10


class TargetAdminActions(admin.ModelAdmin):
    """The actions of every target kind's admin: test now, enable, disable, reset failures, redeliver.

    A kind's admin says how one of its targets is switched on or off and its
    failures reset, through ``hooks.services`` (source "admin"):
    ``target_set_enabled`` and ``target_failures_reset``.
    """

    actions = ["enable", "disable", "reset_failures", "test_now", "redeliver_failed"]

    def target_set_enabled(self, target: Any, *, enabled: bool) -> bool:
        """Switch ``target`` on or off; whether it changed."""
        raise NotImplementedError

    def target_failures_reset(self, target: Any) -> None:
        raise NotImplementedError

    def _set_enabled(self, request: HttpRequest, queryset: QuerySet, *, enabled: bool) -> None:
        count = sum(self.target_set_enabled(target, enabled=enabled) for target in queryset)
        done = "Enabled" if enabled else "Disabled"
        self.message_user(request, f"{done} {count} {self.opts.verbose_name}(s).", messages.SUCCESS)

    @admin.action(description="Enable selected %(verbose_name_plural)s")
    def enable(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_enabled(request, queryset, enabled=True)

    @admin.action(description="Disable selected %(verbose_name_plural)s")
    def disable(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_enabled(request, queryset, enabled=False)

    @admin.action(description="Reset consecutive failures")
    def reset_failures(self, request: HttpRequest, queryset: QuerySet) -> None:
        for target in queryset:
            self.target_failures_reset(target)
        self.message_user(request, "Failure counts reset.", messages.SUCCESS)

    @admin.action(description="Test now (sample payload)")
    def test_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        targets = list(queryset[: MAX_TESTS_PER_ACTION + 1])
        if len(targets) > MAX_TESTS_PER_ACTION:
            self.message_user(request, f"Select at most {MAX_TESTS_PER_ACTION} to test at once.", messages.ERROR)
            return
        for target in targets:
            log = delivery.run_test(target)
            if log.success:
                self.message_user(request, f"{target.name}: test succeeded ({log.duration_ms} ms).", messages.SUCCESS)
            else:
                self.message_user(request, f"{target.name}: test failed: {log.error}", messages.ERROR)

    @admin.action(description="Redeliver failed and skipped deliveries")
    def redeliver_failed(self, request: HttpRequest, queryset: QuerySet) -> None:
        for target in queryset:
            try:
                count = delivery.redeliver_target(target)
            except ValueError as exc:
                self.message_user(request, f"{target.name}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{target.name}: queued {count} delivery(ies) again.", messages.SUCCESS)


class HealthFilter(admin.SimpleListFilter):
    """Healthy, failing (consecutive failures), or disabled automatically (a disable reason is set)."""

    title = "health"
    parameter_name = "health"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        choices = [("healthy", "Healthy"), ("failing", "Failing")]
        if hasattr(model_admin.model, "disabled_reason"):
            choices.append(("auto_disabled", "Disabled automatically"))
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "healthy":
            return queryset.filter(consecutive_failures=0)
        if self.value() == "failing":
            return queryset.filter(consecutive_failures__gt=0)
        if self.value() == "auto_disabled":
            return queryset.filter(enabled=False).exclude(disabled_reason="")
        return queryset
