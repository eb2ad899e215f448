"""``manage.py scoring export [--output FILE]`` / ``manage.py scoring import FILE [--dry-run]``.

The file holds every stored override and modifier (defaults are not written):
``{"version": 1, "weights": {"episode": {...}, "movie": {...}}, "modifiers": {...}}``.
Import makes the stored configuration exactly the file's, all or nothing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scoring import selectors, services_config
from scoring.validators import ScoringValidationError


def _error_lines(errors: Any, prefix: str = "") -> list[str]:
    if isinstance(errors, dict):
        return [line for key, value in errors.items() for line in _error_lines(value, f"{prefix}{key}.")]
    return [f"  {prefix.rstrip('.')}: {message}" for message in errors]


class Command(BaseCommand):
    help = "Export or import the scoring weight overrides and provider modifiers as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{export,import}")
        export = actions.add_parser("export", help="Write the stored overrides and modifiers as JSON.")
        export.add_argument("--output", "-o", help="Write to this file instead of stdout.")
        load = actions.add_parser("import", help="Replace the stored overrides and modifiers with a file's.")
        load.add_argument("file", help="A JSON file written by 'scoring export' ('-' reads stdin).")
        load.add_argument("--dry-run", action="store_true", help="Print what would change; change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "export":
            self._export(options.get("output"))
        else:
            self._import(options["file"], dry_run=options["dry_run"])

    def _export(self, output: str | None) -> None:
        text = json.dumps(selectors.scoring_config_export(), indent=2, sort_keys=True) + "\n"
        if not output:
            self.stdout.write(text, ending="")
            return
        try:
            Path(output).write_text(text)
        except OSError as exc:
            raise CommandError(f"Cannot write {output}: {exc.strerror}.") from None
        self.stderr.write(f"Exported the scoring configuration to {output}.")

    def _import(self, path: str, *, dry_run: bool) -> None:
        data = self._read(path)
        try:
            config = services_config.clean_config(data)
        except ScoringValidationError as exc:
            lines = "\n".join(_error_lines(exc.errors))
            raise CommandError(f"{path} is not a valid scoring configuration; nothing was imported:\n{lines}") from None
        diff = services_config.config_diff(config)
        for line in diff:
            self.stdout.write(line)
        if dry_run:
            self.stdout.write(f"Dry run: {len(diff)} change(s) would be made; nothing was changed.")
            return
        changed = services_config.scoring_config_import(data=config, source="cli")
        self.stdout.write(f"Imported: {len(changed)} change(s)." if changed else "No changes.")

    def _read(self, path: str) -> Any:
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        except UnicodeDecodeError:
            raise CommandError(f"{path} is not UTF-8 text.") from None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(
                f"{path} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
            ) from None
