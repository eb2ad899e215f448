"""Admin for scoring: weights beside their defaults, minimum scores, a preview (the rows: ``admin_rows``).

Saving goes through ``scoring.services`` (source "admin"), like the API: the
same validation and messages, the cache invalidated on commit, and
``config_updated`` emitted.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path

from events.errors import DomainError

from . import (
    admin_rows,  # noqa: F401 - registers the plain rows' admins (modifiers, hash trust, presets)
    selectors,
    services,
    services_config,
)
from .engine import STORED
from .models import ScoringWeight
from .preview import scoring_preview
from .scores import DEFAULT_SCORES, SCORE_TYPES
from .serializers import PreviewRequestSerializer
from .validators import ScoringValidationError

SOURCE = "admin"


class WeightsForm(forms.Form):
    """All weights of one score type: a value per key (prefilled with the effective one) and a reset box."""

    def __init__(self, score_type: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "prefix": score_type})
        self.score_type = score_type
        self.min_form: MinScoreForm | None = None
        overrides = selectors.weight_overrides(score_type)
        self.rows = []
        for key, default in DEFAULT_SCORES[score_type].items():
            # No bounds here: scoring.validators gives the message, as in the API.
            self.fields[key] = forms.IntegerField(
                initial=overrides.get(key, default), widget=forms.NumberInput(attrs={"style": "width: 7em"})
            )
            self.fields[f"reset_{key}"] = forms.BooleanField(required=False, label="Reset")
            self.rows.append(
                {
                    "key": key,
                    "default": default,
                    "overridden": key in overrides,
                    "field": self[key],
                    "reset": self[f"reset_{key}"],
                }
            )

    def weights(self) -> dict[str, int]:
        defaults = DEFAULT_SCORES[self.score_type]
        return {
            key: default if self.cleaned_data[f"reset_{key}"] else self.cleaned_data[key]
            for key, default in defaults.items()
        }

    def save(self) -> list[str]:
        """Store the form's weights (replacing the type's overrides); return the keys now overridden."""
        try:
            services.scoring_weights_update(
                score_type=self.score_type, weights=self.weights(), replace=True, source=SOURCE
            )
        except ScoringValidationError as exc:
            for key, errors in exc.errors.get("weights", {}).items():
                self.add_error(key if key in self.fields else None, errors)
            raise
        return list(selectors.weight_overrides(self.score_type))


class MinScoreForm(forms.Form):
    """The minimum score of one type, in points (shown with its percentage of the maximum reachable)."""

    min_score = forms.IntegerField(required=False, widget=forms.NumberInput(attrs={"style": "width: 7em"}))

    def __init__(self, score_type: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "prefix": f"min-{score_type}"})
        self.score_type = score_type
        self.state = selectors.stored_threshold_state(score_type)
        self.fields["min_score"].initial = self.state["min_score"]

    def save(self) -> dict[str, Any]:
        value = self.cleaned_data["min_score"]
        try:
            if value is None:
                return services.scoring_min_score_clear(score_type=self.score_type, source=SOURCE)
            return services.scoring_min_score_set(score_type=self.score_type, min_score=value, source=SOURCE)
        except ScoringValidationError as exc:
            self.add_error("min_score", exc.errors.get("min_score", [exc.message]))
            raise


def _json_field(label: str, help_text: str, *, required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 90, "style": "font-family: monospace"}),
    )


class PreviewForm(forms.Form):
    """The REST preview's body, as JSON text fields; validated by the same serializer."""

    query = _json_field("Query", 'e.g. {"series_title": "Severance", "season": 2, "episode": 3}')
    results = _json_field(
        "Results", 'A list, e.g. [{"provider_name": "opensubtitles", "subtitle_id": "1", "matches": ["series"]}]'
    )
    preset = forms.ChoiceField(
        required=False, help_text="Optional: try a preset's weights (and minimum score); trial weights go on top."
    )
    weights = _json_field("Trial weights", 'Optional, e.g. {"release_group": 60} (not saved).', required=False)
    min_score = forms.IntegerField(
        required=False, help_text="Optional: a trial minimum score in points; empty: the stored one."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = [preset["name"] for preset in selectors.presets()]
        choice = self.fields["preset"]
        assert isinstance(choice, forms.ChoiceField)
        choice.choices = [("", "(none: the saved configuration)"), *((name, name) for name in names)]

    def body(self) -> dict[str, Any]:
        """The form as a preview request body; JSON errors are added to the form (and raise ValueError)."""
        body: dict[str, Any] = {}
        for name in ("query", "results", "weights"):
            text = self.cleaned_data.get(name) or ""
            if not text.strip():
                continue
            try:
                body[name] = json.loads(text)
            except json.JSONDecodeError as exc:
                self.add_error(name, f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).")
        if self.errors:
            raise ValueError("invalid JSON")
        if self.cleaned_data.get("min_score") is not None:
            body["min_score"] = self.cleaned_data["min_score"]
        if self.cleaned_data.get("preset"):
            body["preset"] = self.cleaned_data["preset"]
        return body


@admin.register(ScoringWeight)
class ScoringWeightAdmin(admin.ModelAdmin):
    """One page: per score type, every weight with its default and the minimum score; and a preview page."""

    def get_urls(self) -> list:
        return [
            path("", self.admin_site.admin_view(self.weights_view), name="scoring_scoringweight_changelist"),
            path("preview/", self.admin_site.admin_view(self.preview_view), name="scoring_scoringweight_preview"),
        ]

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        """Rank candidates with the saved (or trial) configuration; show which ones the minimum score keeps."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        form = PreviewForm(request.POST or None)
        preview = _preview(form) if request.method == "POST" and form.is_valid() else None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Scoring preview",
            "form": form,
            "preview": preview,
        }
        return TemplateResponse(request, "admin/scoring/preview.html", context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def weights_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        can_change = self.has_change_permission(request)
        forms_by_type = {score_type: WeightsForm(score_type) for score_type in SCORE_TYPES}
        if request.method == "POST":
            if not can_change:
                raise PermissionDenied
            score_type = request.POST.get("score_type")
            if "apply_preset" in request.POST or "save_preset" in request.POST:
                return self._preset_action(request)
            if score_type not in SCORE_TYPES:
                messages.error(request, f"Unknown score type {score_type!r}.")
                return HttpResponseRedirect(request.path)
            if "save_min_score" in request.POST:
                min_form = MinScoreForm(score_type, request.POST)
                if min_form.is_valid():
                    try:
                        state = min_form.save()
                    except ScoringValidationError:
                        pass
                    else:
                        messages.success(request, f"The {score_type} minimum score was saved: {_shown_min(state)}.")
                        return HttpResponseRedirect(request.path)
                return self._weights_page(request, forms_by_type, {score_type: min_form}, can_change)
            if "reset_type" in request.POST:
                services.scoring_weights_reset_type(score_type=score_type, source=SOURCE)
                messages.success(request, f"All {score_type} weights reset to their defaults.")
                return HttpResponseRedirect(request.path)
            form = WeightsForm(score_type, request.POST)
            forms_by_type[score_type] = form
            if form.is_valid():
                try:
                    overridden = form.save()
                except ScoringValidationError:
                    pass
                else:
                    changed = ", ".join(overridden) or "none (all defaults)"
                    messages.success(request, f"The {score_type} weights were saved. Overridden: {changed}.")
                    return HttpResponseRedirect(request.path)
        return self._weights_page(request, forms_by_type, {}, can_change)

    def _preset_action(self, request: HttpRequest) -> HttpResponse:
        """Apply a preset, or save the current configuration as one; the outcome as a message."""
        try:
            if "apply_preset" in request.POST:
                name = request.POST.get("preset", "")
                changed = services_config.scoring_preset_apply(name=name, source=SOURCE)
                shown = ", ".join(changed) or "nothing (already as the preset says)"
                messages.success(request, f"Preset {name!r} applied. Changed: {shown}.")
            else:
                saved = services_config.scoring_preset_save(
                    name=request.POST.get("preset_name", ""), description=request.POST.get("preset_description", "")
                )
                messages.success(request, f"The current configuration was saved as preset {saved['name']!r}.")
        except DomainError as exc:
            messages.error(request, exc.message)
        return HttpResponseRedirect(request.path)

    def _weights_page(
        self,
        request: HttpRequest,
        forms_by_type: dict[str, WeightsForm],
        min_forms: dict[str, MinScoreForm],
        can_change: bool,
    ) -> HttpResponse:
        for form in forms_by_type.values():
            form.min_form = min_forms.get(form.score_type) or MinScoreForm(form.score_type)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Scoring weights",
            "forms": forms_by_type.values(),
            "presets": selectors.presets(),
            "can_change": can_change,
        }
        return TemplateResponse(request, "admin/scoring/weights.html", context)


def _add_errors(form: forms.Form, errors: dict[str, Any]) -> None:
    for field, messages_ in errors.items():
        shown = messages_ if isinstance(messages_, list) and all(isinstance(m, str) for m in messages_) else None
        form.add_error(field if field in form.fields else None, shown or json.dumps(messages_))


def _preview(form: PreviewForm) -> dict[str, Any] | None:
    """The preview of the form's body, or None with the problems added to the form (as the API states them)."""
    try:
        body = form.body()
    except ValueError:
        return None
    serializer = PreviewRequestSerializer(data=body)
    if not serializer.is_valid():
        _add_errors(form, serializer.errors)
        return None
    data = serializer.validated_data
    try:
        return scoring_preview(
            query=data["query"],
            candidates=data["results"],
            weights=data.get("weights"),
            min_score=data.get("min_score", STORED),
            preset=data.get("preset"),
        )
    except ScoringValidationError as exc:
        _add_errors(form, exc.errors)
        return None


def _shown_min(state: dict[str, Any]) -> str:
    if state["min_score"] is None:
        return "none (every result is kept)"
    return f"{state['min_score']} points = {state['min_score_percent']} % of {state['max_score']}"
