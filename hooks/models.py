"""Users' script hooks, outgoing webhooks and notifications, their pending deliveries, and the run log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

if TYPE_CHECKING:
    from .transports import Result


class HookType(models.TextChoices):
    SCRIPT = "script", "Script"
    WEBHOOK = "webhook", "Webhook"
    NOTIFICATION = "notification", "Notification"


# Parts of the kinds' ``stats_fields``: a kind that disables itself after failures, and every row.
AUTO_DISABLE_STATS = ("consecutive_failures", "trigger_count", "disabled_reason", "disabled_at")
TIMESTAMPS = ("created_at", "updated_at")


class DeliveryTarget(models.Model):
    """What every target kind has: a name, on/off, a timeout, its delivery stats, and the events it gets.

    Abstract (no table of its own). A kind's model adds its own settings and
    says which transport runs it (``kind``: ``hooks.transports.KINDS``), which
    ``Delivery`` / ``HookLog`` foreign key points at it (``target_field``),
    how an outcome shows in its stats (``last_outcome_fields``) and which
    events it is subscribed to (``event_names``: how it stores them is the
    kind's own — one ``event_name`` for script hooks and webhooks, a list for
    notifications).
    """

    kind: ClassVar[str]
    target_field: ClassVar[str]
    # The columns the pipeline writes (read-only in the admin and the API), in the order they are shown.
    stats_fields: ClassVar[tuple[str, ...]]

    name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True, db_index=True)
    last_triggered_at = models.DateTimeField(null=True, blank=True)
    trigger_count = models.PositiveIntegerField(default=0)
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def attempt_budget(self) -> int:
        """Attempts a new (or redelivered) delivery gets."""
        return 1

    def last_outcome_fields(self, result: Result) -> dict[str, Any]:
        """The stats columns of this kind that show the latest attempt."""
        return {}

    @property
    def event_names(self) -> list[str]:
        """The events this target is subscribed to: catalog names, or ``["*"]`` (every event but meta-events)."""
        raise NotImplementedError


class SingleEventTarget(DeliveryTarget):
    """A target subscribed to one event (``event_name``; ``*`` for every event where the kind allows it)."""

    event_name = models.CharField(max_length=64, db_index=True)

    class Meta(DeliveryTarget.Meta):
        abstract = True

    @property
    def event_names(self) -> list[str]:
        return [self.event_name]


class HookConfig(SingleEventTarget):
    """A script in SUBLARR_HOOKS_DIR run on one event."""

    kind: ClassVar[str] = HookType.SCRIPT
    target_field: ClassVar[str] = "hook"
    stats_fields = ("last_triggered_at", "last_status", "trigger_count", "consecutive_failures", *TIMESTAMPS)

    class Status(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILED = "failed", "Failed"
        TIMEOUT = "timeout", "Timed out"

    script_path = models.CharField(max_length=1024, help_text="Path of an executable file inside SUBLARR_HOOKS_DIR.")
    timeout_seconds = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(300)]
    )
    last_status = models.CharField(max_length=16, choices=Status.choices, blank=True)

    class Meta(SingleEventTarget.Meta):
        verbose_name = "script hook"

    def last_outcome_fields(self, result: Result) -> dict[str, Any]:
        if result.success:
            return {"last_status": HookConfig.Status.SUCCESS}
        timed_out = result.extra.get("timed_out")
        return {"last_status": HookConfig.Status.TIMEOUT if timed_out else HookConfig.Status.FAILED}


class WebhookConfig(SingleEventTarget):
    """An HTTP endpoint that receives one event (or every event, ``*``) as signed JSON."""

    kind: ClassVar[str] = HookType.WEBHOOK
    target_field: ClassVar[str] = "webhook"
    stats_fields = ("last_triggered_at", "last_status_code", "last_error", *AUTO_DISABLE_STATS, *TIMESTAMPS)
    ALL_EVENTS = "*"

    url = models.CharField(max_length=2048)
    # Write-only through every interface: never shown, never logged.
    secret = models.CharField(max_length=255, blank=True)
    retry_count = models.PositiveSmallIntegerField(default=3, validators=[MinValueValidator(0), MaxValueValidator(10)])
    timeout_seconds = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    disabled_reason = models.CharField(max_length=255, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta(SingleEventTarget.Meta):
        verbose_name = "webhook"

    @property
    def has_secret(self) -> bool:
        return bool(self.secret)

    @property
    def attempt_budget(self) -> int:
        return self.retry_count + 1

    def last_outcome_fields(self, result: Result) -> dict[str, Any]:
        return {"last_status_code": result.status_code, "last_error": result.error}


class NotificationConfig(DeliveryTarget):
    """Apprise URLs that get a short rendered message (title, body) on one or several events, or every event.

    ``events``: catalog event names in catalog order, or ``["*"]`` — never
    empty, never ``hook_executed``, never ``*`` beside names. See
    docs/NOTIFICATIONS.md; the fields are checked by ``hooks.notification_services``.
    """

    kind: ClassVar[str] = HookType.NOTIFICATION
    target_field: ClassVar[str] = "notification"
    stats_fields = ("last_triggered_at", "last_error", *AUTO_DISABLE_STATS, *TIMESTAMPS)
    ALL_EVENTS = "*"

    class BodyFormat(models.TextChoices):
        TEXT = "text", "Text"
        MARKDOWN = "markdown", "Markdown"

    class QuietMode(models.TextChoices):
        HOLD = "hold", "Hold until the quiet hours end"
        SKIP = "skip", "Skip"

    events = models.JSONField(default=list, help_text='Catalog event names, or ["*"] for every event.')
    # Apprise URLs (a list of strings). Write-only through every interface: shown masked, never logged.
    urls = models.JSONField(default=list)
    title_template = models.TextField(blank=True, help_text="Jinja2; empty: the event's default title.")
    body_template = models.TextField(blank=True, help_text="Jinja2; empty: the event's default body.")
    body_format = models.CharField(max_length=8, choices=BodyFormat.choices, default=BodyFormat.TEXT)
    quiet_start = models.CharField(max_length=5, blank=True, help_text="HH:MM, local time; empty: no quiet hours.")
    quiet_end = models.CharField(max_length=5, blank=True, help_text="HH:MM, local time.")
    quiet_timezone = models.CharField(max_length=64, blank=True, help_text="IANA time zone, e.g. Europe/Berlin.")
    quiet_passes = models.JSONField(default=list, blank=True, help_text="Events sent inside the quiet hours too.")
    quiet_mode = models.CharField(max_length=4, choices=QuietMode.choices, default=QuietMode.HOLD)
    retry_count = models.PositiveSmallIntegerField(default=3, validators=[MinValueValidator(0), MaxValueValidator(10)])
    timeout_seconds = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    last_error = models.TextField(blank=True)
    disabled_reason = models.CharField(max_length=255, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta(DeliveryTarget.Meta):
        verbose_name = "notification"

    @property
    def attempt_budget(self) -> int:
        return self.retry_count + 1

    def last_outcome_fields(self, result: Result) -> dict[str, Any]:
        return {"last_error": result.error}

    @property
    def event_names(self) -> list[str]:
        return [str(name) for name in self.events or ()]

    def subscribes_to(self, event_name: str) -> bool:
        """Whether an event called ``event_name`` is notified (it is one of ``events``, or they are ``*``)."""
        names = self.event_names
        return event_name in names or self.ALL_EVENTS in names


class Delivery(models.Model):
    """One event owed to one hook or webhook: the durable unit of work.

    Workers claim a row with a conditional UPDATE (status and lease), so two
    workers never run the same attempt; the claim names its holder, and once
    that worker process is known dead (hooks.delivery.holders), or the lease
    expires, the row is claimable again. Every attempt is logged as a HookLog row.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (target disabled, or quiet hours)"

    event_id = models.UUIDField()
    event_name = models.CharField(max_length=64)
    envelope = models.JSONField()
    hook_type = models.CharField(max_length=16, choices=HookType.choices)
    hook = models.ForeignKey(HookConfig, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries")
    webhook = models.ForeignKey(
        WebhookConfig, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    notification = models.ForeignKey(
        NotificationConfig, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Attempts allowed so far: retry_count + 1 when created, raised by a redelivery.
    max_attempts = models.PositiveSmallIntegerField(default=1)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # The worker process holding the claim (WorkerProcess.id); its death hands the claim on early.
    holder = models.UUIDField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="hooks_delivery_due"),
            models.Index(fields=["status", "lease_expires_at"], name="hooks_delivery_lease"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["event_id", "webhook"],
                condition=Q(webhook__isnull=False),
                name="hooks_delivery_one_per_webhook",
            ),
            models.UniqueConstraint(
                fields=["event_id", "hook"],
                condition=Q(hook__isnull=False),
                name="hooks_delivery_one_per_hook",
            ),
            models.UniqueConstraint(
                fields=["event_id", "notification"],
                condition=Q(notification__isnull=False),
                name="hooks_delivery_one_per_notification",
            ),
            models.CheckConstraint(
                condition=Q(hook__isnull=True, webhook__isnull=False, notification__isnull=True)
                | Q(hook__isnull=False, webhook__isnull=True, notification__isnull=True)
                | Q(hook__isnull=True, webhook__isnull=True, notification__isnull=False),
                name="hooks_delivery_one_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_name} {self.event_id} → {self.hook or self.webhook or self.notification}"

    @property
    def target(self) -> HookConfig | WebhookConfig | NotificationConfig:
        """The webhook, script hook or notification this delivery goes to: exactly one (hooks_delivery_one_target)."""
        target = self.webhook or self.hook or self.notification
        assert target is not None, "hooks_delivery_one_target: a delivery has a webhook, a hook or a notification"
        return target


class WorkerProcess(models.Model):
    """A process running deliveries, alive while it beats; the claims of a dead one are taken over early.

    One row per queue-worker process, created by its first beat, beaten every
    SUBLARR_WORKER_HEARTBEAT_SECONDS, deleted when the process stops cleanly
    or once another process finds it dead (hooks.delivery.holders).
    """

    id = models.UUIDField(primary_key=True)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    # Processes that share a pid space (same boot, same pid namespace) can tell
    # for certain that one of them is gone; empty where it cannot be known.
    pid_space = models.CharField(max_length=100, blank=True)
    # Clock ticks after boot when the process started, so a reused pid is not taken for it.
    start_ticks = models.BigIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    last_beat_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "delivery worker process"

    def __str__(self) -> str:
        return f"{self.host} pid {self.pid}"


class PendingEvent(models.Model):
    """An event waiting for its fan-out: the outbox between the producer and the queue workers.

    The producer writes one row per subscribed event when the event's
    transaction commits (one INSERT, however many targets) and rings a
    django-q2 task; a worker turns a batch of rows into Delivery rows and
    deletes them in the same transaction. A row outlives any process: a
    worker killed mid-fan-out rolls back, and the row is taken again.
    """

    event_id = models.UUIDField(unique=True)
    event_name = models.CharField(max_length=64)
    envelope = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "event waiting for fan-out"
        verbose_name_plural = "events waiting for fan-out"

    def __str__(self) -> str:
        return f"{self.event_name} {self.event_id}"


class HookLog(models.Model):
    """One script run or webhook attempt, with its outcome. Outlives its hook or webhook."""

    hook = models.ForeignKey(HookConfig, null=True, blank=True, on_delete=models.SET_NULL, related_name="logs")
    webhook = models.ForeignKey(WebhookConfig, null=True, blank=True, on_delete=models.SET_NULL, related_name="logs")
    notification = models.ForeignKey(
        NotificationConfig, null=True, blank=True, on_delete=models.SET_NULL, related_name="logs"
    )
    delivery = models.ForeignKey(Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="logs")
    # The config's name at the time, kept when the config is deleted.
    hook_name = models.CharField(max_length=100)
    event_name = models.CharField(max_length=64)
    event_id = models.UUIDField(null=True, blank=True, db_index=True)
    hook_type = models.CharField(max_length=16, choices=HookType.choices)
    attempt = models.PositiveSmallIntegerField(default=1)
    is_test = models.BooleanField(default=False)
    success = models.BooleanField()
    # Set when this attempt failed and another one is scheduled.
    will_retry = models.BooleanField(default=False)
    skipped = models.BooleanField(default=False)
    exit_code = models.IntegerField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    stdout = models.TextField(blank=True)
    stderr = models.TextField(blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    # Webhooks: headers sent (secrets and signatures redacted), capped response body.
    request_headers = models.JSONField(default=dict, blank=True)
    response_body = models.TextField(blank=True)
    response_headers = models.JSONField(
        default=dict,
        blank=True,
        help_text="Webhooks: the response headers received, secrets redacted, bounded (at most 50 headers, 8 KiB).",
    )
    triggered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-triggered_at", "-id"]
        indexes = [
            models.Index(fields=["-triggered_at"], name="hooks_log_recent"),
            models.Index(fields=["event_name", "-triggered_at"], name="hooks_log_event"),
            models.Index(fields=["success", "-triggered_at"], name="hooks_log_success"),
            models.Index(fields=["hook_type", "-triggered_at"], name="hooks_log_type"),
            # A target's last success (admin health): the first entry, however long ago and however many failures.
            models.Index(
                fields=["webhook", "-triggered_at"],
                condition=Q(success=True, is_test=False),
                name="hooks_log_webhook_success",
            ),
            models.Index(
                fields=["hook", "-triggered_at"],
                condition=Q(success=True, is_test=False),
                name="hooks_log_hook_success",
            ),
        ]

    def __str__(self) -> str:
        outcome = "ok" if self.success else "failed"
        return f"{self.hook_name} on {self.event_name}: {outcome}"
