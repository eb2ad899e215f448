"""Admin for the plain scoring rows: provider modifiers, untrusted-hash providers, the users' presets.

Each row is written through ``scoring.services`` (source "admin"), like the
API; the weights page, minimum scores and preview are in ``scoring.admin``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from . import services, services_config
from .models import ProviderScoreModifier, ScoringPreset, UntrustedHashProvider
from .validators import ScoringValidationError, clean_modifier, provider_name_error

SOURCE = "admin"


class ProviderScoreModifierForm(forms.ModelForm):
    # No bounds on the fields: scoring.validators gives the messages, as in the API.
    provider_name = forms.CharField(help_text="1-64 characters of lowercase letters, digits, '_' and '-'.")
    modifier = forms.IntegerField(help_text="Added to every score of this provider's results (-1000 to 1000).")

    class Meta:
        model = ProviderScoreModifier
        fields = ["provider_name", "modifier"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if "provider_name" in data and "modifier" in data:
            try:
                clean_modifier(data["provider_name"], data["modifier"])
            except ScoringValidationError as exc:
                for field, errors in exc.errors.items():
                    self.add_error(field, errors)
            if data.get("modifier") == 0:
                self.add_error("modifier", "0 means no modifier: delete this provider's modifier instead.")
        return data

    def validate_unique(self) -> None:
        # provider_modifier_set creates or updates: no "already exists" error.
        return


@admin.register(ProviderScoreModifier)
class ProviderScoreModifierAdmin(admin.ModelAdmin):
    form = ProviderScoreModifierForm
    list_display = ["provider_name", "modifier", "updated_at"]
    search_fields = ["provider_name"]

    def get_readonly_fields(self, request: HttpRequest, obj: ProviderScoreModifier | None = None) -> list[str]:
        # A rename would be a delete plus a create: do those instead.
        return ["provider_name"] if obj else []

    def save_model(self, request: HttpRequest, obj: ProviderScoreModifier, form: forms.Form, change: bool) -> None:
        services.provider_modifier_set(provider_name=obj.provider_name, modifier=obj.modifier, source=SOURCE)
        obj.pk = ProviderScoreModifier.objects.get(provider_name=obj.provider_name).pk

    def delete_model(self, request: HttpRequest, obj: ProviderScoreModifier) -> None:
        services.provider_modifier_delete(provider_name=obj.provider_name, source=SOURCE)

    @transaction.atomic
    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ProviderScoreModifier]) -> None:
        for name in list(queryset.values_list("provider_name", flat=True)):
            services.provider_modifier_delete(provider_name=name, source=SOURCE)


class UntrustedHashProviderForm(forms.ModelForm):
    provider_name = forms.CharField(help_text="1-64 characters of lowercase letters, digits, '_' and '-'.")

    class Meta:
        model = UntrustedHashProvider
        fields = ["provider_name"]

    def clean_provider_name(self) -> str:
        name = self.cleaned_data["provider_name"]
        if message := provider_name_error(name):
            raise forms.ValidationError(message)
        return name

    def validate_unique(self) -> None:
        # Distrusting an untrusted provider again changes nothing: no "already exists" error.
        return


@admin.register(UntrustedHashProvider)
class UntrustedHashProviderAdmin(admin.ModelAdmin):
    """Providers whose hash matches score nothing; every other provider is trusted. Delete = trust again."""

    form = UntrustedHashProviderForm
    list_display = ["provider_name", "updated_at"]
    search_fields = ["provider_name"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Nothing to change on a row: add (distrust) or delete (trust again).
        return False if obj is not None else super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: UntrustedHashProvider, form: forms.Form, change: bool) -> None:
        services.provider_hash_trust_set(provider_name=obj.provider_name, trusted=False, source=SOURCE)
        obj.pk = UntrustedHashProvider.objects.get(provider_name=obj.provider_name).pk

    def delete_model(self, request: HttpRequest, obj: UntrustedHashProvider) -> None:
        services.provider_hash_trust_set(provider_name=obj.provider_name, trusted=True, source=SOURCE)

    @transaction.atomic
    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[UntrustedHashProvider]) -> None:
        for name in list(queryset.values_list("provider_name", flat=True)):
            services.provider_hash_trust_set(provider_name=name, trusted=True, source=SOURCE)


@admin.register(ScoringPreset)
class ScoringPresetAdmin(admin.ModelAdmin):
    """The users' own presets: listed and deleted here; saved and applied on the weights page (or the API)."""

    list_display = ["name", "description", "created_at"]
    readonly_fields = ["name", "description", "weights", "min_scores", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: ScoringPreset) -> None:
        services_config.scoring_preset_delete(name=obj.name)

    @transaction.atomic
    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ScoringPreset]) -> None:
        for name in list(queryset.values_list("name", flat=True)):
            services_config.scoring_preset_delete(name=name)
