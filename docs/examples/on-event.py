#!/usr/bin/env python3
"""Sublarr script hook (Python): read the event from stdin and append it to a JSON-lines file.

Install: copy into SUBLARR_HOOKS_DIR, `chmod +x` it, and create a script hook
for one or more events with this file name. The script gets no server
environment (only PATH, HOME, LANG and the SUBLARR_* variables), so its
settings live here.
"""

import json
import sys
from pathlib import Path

# Where to keep the events; relative paths would land in the run's temporary
# cwd, which is deleted afterwards.
LOG_FILE = Path.home() / "sublarr-events.jsonl"


def main() -> int:
    event = json.load(sys.stdin)  # the whole envelope: id, event_name, version, timestamp, data
    data = event["data"]
    if event["event_name"] == "provider_failed":
        # stderr is kept in the hook log (up to SUBLARR_SCRIPT_OUTPUT_CAP bytes).
        print(f"{data.get('provider_name')} failed: {data.get('error')}", file=sys.stderr)
    with LOG_FILE.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(event) + "\n")
    print(f"{event['event_name']} {event['id']} logged to {LOG_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
