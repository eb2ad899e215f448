"""The default notification title and body per catalog event: a target works with no template at all.

Plain text that reads the same as markdown. docs/NOTIFICATIONS.md shows what
each renders for its sample payload (test_notify_docs keeps the two in step).
"""

from __future__ import annotations

_MEDIA_LINE = "{% if media %}{{ media }}\n{% endif %}"
DEFAULTS: dict[str, tuple[str, str]] = {
    "subtitle_downloaded": (
        "Subtitle downloaded{% if media %}: {{ media }}{% endif %}",
        _MEDIA_LINE + "Language: {{ data.language }}, format: {{ data.format }}"
        "{% if data.score is not none %}, score: {{ data.score }}{% endif %}\n"
        "Provider: {{ data.provider_name }}",
    ),
    "translation_complete": (
        "Translation complete{% if media %}: {{ media }}{% endif %}",
        _MEDIA_LINE + "{{ data.source_language }} → {{ data.target_language }} with {{ data.backend_name }}"
        "{% if data.duration_ms is not none %} in {{ (data.duration_ms / 1000) | round(1) }} s{% endif %}",
    ),
    "translation_failed": (
        "Translation failed{% if media %}: {{ media }}{% endif %}",
        _MEDIA_LINE + "{{ data.source_language }} → {{ data.target_language }} with {{ data.backend_name }}\n"
        "Error: {{ data.error }}",
    ),
    "provider_search_complete": (
        "Search complete{% if media %}: {{ media }}{% endif %}",
        "{{ data.provider_name }} found {{ data.result_count }} result(s)"
        "{% if data.best_score is not none %}, best score {{ data.best_score }}{% endif %}",
    ),
    "provider_failed": (
        "Provider failed: {{ data.provider_name }}",
        _MEDIA_LINE + "{% if data.error_type %}{{ data.error_type }}: {% endif %}{{ data.error }}",
    ),
    "wanted_scan_complete": (
        "Wanted scan complete",
        "{{ data.total_items }} wanted item(s): {{ data.new_items }} new, {{ data.removed_items }} removed",
    ),
    "wanted_item_processed": (
        "Wanted item {{ data.status }}{% if media %}: {{ media }}{% endif %}",
        "Status: {{ data.status }}{% if data.provider_name %} via {{ data.provider_name }}{% endif %}"
        "{% if data.score is not none %}, score {{ data.score }}{% endif %}",
    ),
    "upgrade_complete": (
        "Subtitle upgraded{% if media %}: {{ media }}{% endif %}",
        "{{ data.old_format }} (score {{ data.old_score }}) → {{ data.new_format }} (score {{ data.new_score }})"
        "{% if data.provider_name %}\nProvider: {{ data.provider_name }}{% endif %}",
    ),
    "batch_complete": (
        "Batch complete",
        "{{ data.succeeded }} of {{ data.total }} succeeded, {{ data.failed }} failed, {{ data.skipped }} skipped",
    ),
    "webhook_received": (
        "{{ data.source or 'Webhook' }}: {{ data.event_type }}{% if media %} — {{ media }}{% endif %}",
        "{% if data.message %}{{ data.message }}\n{% endif %}"
        "{% if data.quality %}Quality: {{ data.quality }}\n{% endif %}"
        "{% if data.release_title %}Release: {{ data.release_title }}\n{% endif %}"
        "Received from {{ data.source }} ({{ data.event_type }})",
    ),
    "config_updated": (
        "Configuration updated",
        "Changed: {{ (data.changed_keys or []) | join(', ') }}{% if data.source %} (by {{ data.source }}){% endif %}",
    ),
    "whisper_complete": (
        "Transcription complete",
        "{{ data.backend_name }} detected {{ data.detected_language }}, {{ data.segment_count }} segment(s)"
        "{% if data.duration_seconds is not none %} for {{ (data.duration_seconds / 60) | round(1) }} min of audio"
        "{% endif %}",
    ),
    "whisper_failed": (
        "Transcription failed",
        "{{ data.backend_name }}: {{ data.error }}",
    ),
}
# For an event added to the catalog before it gets a default of its own.
GENERIC_DEFAULT = (
    "{{ event_label }}{% if media %}: {{ media }}{% endif %}",
    "{% for key, value in data | dictsort %}{% if value is not none %}{{ key }}: {{ value }}\n{% endif %}{% endfor %}",
)


def default_templates(event_name: str) -> tuple[str, str]:
    """The default (title, body) templates of ``event_name``."""
    return DEFAULTS.get(event_name, GENERIC_DEFAULT)
