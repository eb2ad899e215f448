"""Admin for incoming sources and the (read-only) request record.

Forms save through ``incoming.services`` (source ``admin``). The API key is
never shown but once: a new source, or the "rotate key" action, shows it in
a message. The Basic password is write-only: blank keeps the stored one.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from . import services, validators
from .models import IncomingRequest, IncomingSource


class IncomingSourceForm(forms.ModelForm):
    basic_password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only. Blank keeps the stored password; tick 'clear Basic auth' to remove both.",
    )
    clear_basic = forms.BooleanField(required=False, label="Clear Basic auth")
    path_mappings = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text='JSON: [{"remote": "/tv", "local": "/media/tv"}]. The longest matching remote prefix wins.',
    )

    class Meta:
        model = IncomingSource
        fields = ["name", "kind", "enabled", "basic_username", "path_mappings"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["path_mappings"] = json.dumps(self.instance.path_mappings if self.instance.pk else [])
        # Before the form writes the posted values onto the instance.
        self.stored_username = self.instance.basic_username if self.instance.pk else ""

    def clean_path_mappings(self) -> list[dict[str, str]]:
        raw = self.cleaned_data.get("path_mappings") or "[]"
        try:
            value = json.loads(raw)
        except ValueError:
            raise ValidationError(validators.MAPPINGS_MESSAGE) from None
        try:
            return validators.validate_path_mappings(value)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["path_mappings"]) from None

    def clean_name(self) -> str:
        try:
            return validators.validate_name(self.cleaned_data.get("name"))
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["name"]) from None

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("clear_basic"):
            return cleaned
        username = cleaned.get("basic_username") or ""
        password = cleaned.get("basic_password") or ""
        stored = bool(self.instance.pk and self.instance.basic_password_hash)
        try:
            # A blank password keeps the stored one: check the pair as it will be.
            validators.validate_basic(username, password or ("stored" if stored and username else ""))
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field, errors)
        return cleaned

    def service_data(self) -> dict[str, Any]:
        data = {key: self.cleaned_data[key] for key in ("name", "kind", "enabled", "path_mappings")}
        if self.cleaned_data.get("clear_basic"):
            data.update(basic_username="", basic_password="")
        elif self.cleaned_data.get("basic_password") or self.cleaned_data.get("basic_username") != self.stored_username:
            data["basic_username"] = self.cleaned_data.get("basic_username", "")
            if self.cleaned_data.get("basic_password"):
                data["basic_password"] = self.cleaned_data["basic_password"]
        return data


@admin.register(IncomingSource)
class IncomingSourceAdmin(admin.ModelAdmin):
    form = IncomingSourceForm
    list_display = ["name", "kind", "enabled", "has_basic_auth", "last_request_at"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name"]
    readonly_fields = ["last_request_at", "created_at", "updated_at"]
    actions = ["rotate_key"]

    def save_model(self, request: HttpRequest, obj: IncomingSource, form: IncomingSourceForm, change: bool) -> None:
        data = form.service_data()
        if change:
            services.source_update(incoming=IncomingSource.objects.get(pk=obj.pk), data=data, source="admin")
            return
        created, key = services.source_create(**data, source="admin")
        obj.pk = created.pk
        messages.warning(request, f"API key for {created.name} (shown once, copy it into the app now): {key}")

    def delete_model(self, request: HttpRequest, obj: IncomingSource) -> None:
        services.source_delete(incoming=obj, source="admin")

    @admin.action(description="Rotate the API key (the new key is shown once)")
    def rotate_key(self, request: HttpRequest, queryset: QuerySet[IncomingSource]) -> None:
        for incoming in queryset:
            key = services.source_key_rotate(incoming=incoming, source="admin")
            messages.warning(request, f"New API key for {incoming.name} (shown once): {key}")


@admin.register(IncomingRequest)
class IncomingRequestAdmin(admin.ModelAdmin):
    list_display = ["received_at", "source_name", "source_kind", "app_event", "outcome", "status_code", "duration_ms"]
    list_filter = ["outcome", "source_kind", "status_code"]
    search_fields = ["source_name", "app_event", "request_id", "event_id"]
    date_hierarchy = "received_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
