"""The example hooks in docs/examples run as documented, and docs/HOOKS.md lists every variable."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from events.catalog import EVENT_CATALOG, HOOKABLE_EVENTS
from events.samples import sample_payload
from events.services import build_envelope
from hooks.models import HookConfig
from hooks.transports import HookError
from hooks.transports.script import deliver
from hooks.transports.script_env import payload_variable

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _install(hooks_dir: Path, name: str) -> str:
    target = hooks_dir / name
    shutil.copyfile(DOCS / "examples" / name, target)
    target.chmod(0o755)
    return name


def test_bash_example_prints_the_documented_line(hooks_dir):
    if shutil.which("bash") is None or shutil.which("jq") is None:
        pytest.skip("bash and jq are needed for the documented output")
    name = _install(hooks_dir, "on-subtitle.sh")
    result = deliver(
        HookConfig(script_path=name),
        build_envelope("subtitle_downloaded", sample_payload("subtitle_downloaded")),
    )
    assert result.success is True
    assert result.stdout == (
        "Got a de subtitle for The Expanse S02E05 from opensubtitles (score 412)\n"
        "payload keys: episode, format, language, movie_title, provider_name, score, season, series_title, "
        "subtitle_path\n"
    )
    # The same two lines are in docs/HOOKS.md.
    doc = (DOCS / "HOOKS.md").read_text()
    assert "Got a de subtitle for The Expanse S02E05 from opensubtitles (score 412)\n" in doc
    assert "payload keys: episode, format, language, movie_title, provider_name, score, season, series_title, " in doc


def test_bash_example_handles_other_events(hooks_dir):
    name = _install(hooks_dir, "on-subtitle.sh")
    envelope = build_envelope("batch_complete", sample_payload("batch_complete"))
    result = deliver(HookConfig(script_path=name), envelope)
    assert result.stdout.splitlines()[0] == f"Event batch_complete ({envelope['id']})"


def test_python_example_reads_stdin_and_appends_the_event(hooks_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    name = _install(hooks_dir, "on-event.py")
    envelope = build_envelope("provider_failed", sample_payload("provider_failed"))
    result = deliver(HookConfig(script_path=name), envelope)

    log_file = tmp_path / "sublarr-events.jsonl"
    assert result.success is True
    assert result.stdout == f"provider_failed {envelope['id']} logged to {log_file}\n"
    assert result.stderr == "opensubtitles failed: Provider returned HTTP 503\n"
    assert [json.loads(line) for line in log_file.read_text().splitlines()] == [envelope]


def test_python_example_failure_is_logged_with_its_exit_code(hooks_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "missing-home"))  # the log file cannot be opened
    name = _install(hooks_dir, "on-event.py")
    with pytest.raises(HookError) as excinfo:
        deliver(HookConfig(script_path=name), build_envelope("batch_complete", {"total": 1}))
    assert excinfo.value.result.exit_code == 1
    assert "FileNotFoundError" in excinfo.value.result.stderr


def test_hooks_doc_lists_every_payload_variable_of_every_hookable_event():
    doc = (DOCS / "HOOKS.md").read_text()
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| (`SUBLARR_.*) \|$", doc, flags=re.MULTILINE))
    expected = {
        name: ", ".join(f"`{payload_variable(key)}`" for key in EVENT_CATALOG[name].payload_keys)
        for name in HOOKABLE_EVENTS
    }
    assert rows == expected


def test_hooks_doc_examples_match_the_files():
    doc = (DOCS / "HOOKS.md").read_text()
    for name in ("on-subtitle.sh", "on-event.py"):
        code = (DOCS / "examples" / name).read_text()
        assert f"(examples/{name})" in doc
        # Every code line of the shortened listing in the doc is a line of the real file.
        listing = re.search(rf"\[examples/{re.escape(name)}\].*?```\w+\n(.*?)```", doc, flags=re.DOTALL)
        assert listing is not None
        for line in listing.group(1).splitlines():
            if line.strip() and not line.lstrip().startswith("# "):
                assert line in code.splitlines(), f"{name}: {line!r} not in the example"
