"""A script hook cannot read the secrets of the processes that started it (its worker, sentinel, cluster)."""

from __future__ import annotations

import json
import os
import sys

import pytest

import testsupport
from events import emit_event
from hooks import services
from hooks.models import HookLog
from hooks.transports import isolation
from hooks.transports import script_process as runner

pytestmark = [pytest.mark.slow]

# Walks up from its parent to the cluster's main process (``STOP_AT``) and tries,
# for each, every way /proc offers to see another process's environment or memory.
SNOOP = """#!{python}
import glob, json, os, re, sys

STOP_AT = {stop_at}
REPORT = {report!r}

def ppid(pid):
    with open(f"/proc/{{pid}}/status") as f:
        return int(re.search(r"^PPid:\\s+(\\d+)", f.read(), re.M).group(1))

def attempt(label, read):
    try:
        data = read()
    except OSError as exc:
        return {{"what": label, "error": exc.strerror or str(exc)}}
    return {{"what": label, "read": data.decode("latin-1")}}

def read_file(path):
    with open(path, "rb") as f:
        return f.read()

def read_mem(pid):
    # The environment strings sit at the top of the stack: read it through /proc/<pid>/mem.
    with open(f"/proc/{{pid}}/maps") as maps:
        regions = [line.split()[0] for line in maps if line.rstrip().endswith("[stack]")]
    data = b""
    with open(f"/proc/{{pid}}/mem", "rb") as mem:
        for region in regions:
            start, end = (int(part, 16) for part in region.split("-"))
            mem.seek(start)
            data += mem.read(end - start)
    return data

chain, report, pid = [], [], os.getpid()
while pid != STOP_AT and pid > 1:
    pid = ppid(pid)
    chain.append(pid)
    tries = [attempt("environ", lambda: read_file(f"/proc/{{pid}}/environ"))]
    for path in sorted(glob.glob(f"/proc/{{pid}}/task/*/environ")):
        tries.append(attempt(path, lambda path=path: read_file(path)))
    tries.append(attempt("mem", lambda: read_mem(pid)))
    report.append({{"pid": pid, "tries": tries}})
with open(REPORT, "w") as f:
    json.dump({{"chain": chain, "report": report}}, f)
for entry in report:
    for t in entry["tries"]:
        print(entry["pid"], t["what"], t.get("error") or t["read"][:4000])
"""


def test_a_script_run_by_a_queue_worker_cannot_read_the_secrets_of_its_ancestors(
    proc_env, hooks_dir, start_worker, tmp_path
):
    report = tmp_path / "snoop.json"
    secrets = {"SECRET_KEY": proc_env["SECRET_KEY"], "DATABASE_URL": proc_env["DATABASE_URL"]}
    worker = start_worker(SUBLARR_SCRIPT_OUTPUT_CAP="1048576")
    path = hooks_dir / "snoop.py"
    path.write_text(SNOOP.format(python=sys.executable, stop_at=worker.pid, report=str(report)))
    path.chmod(0o755)
    hook = services.hook_create(name="Snoop", event_name="subtitle_downloaded", script_path="snoop.py", source="api")

    emit_event("subtitle_downloaded", {"series_title": "The Expanse"})
    log = testsupport.wait_for(
        lambda: HookLog.objects.filter(hook=hook).first(), timeout=60, interval=0.1, message="the script's log"
    )

    assert log.success is True, (log.error, log.stderr, worker.log())
    found = json.loads(report.read_text())
    # The delivery thread's process (a django-q2 worker), its sentinel, the cluster's main process.
    assert len(found["chain"]) >= 3
    assert found["chain"][-1] == worker.pid
    captured = report.read_text() + log.stdout + log.stderr
    for name, value in secrets.items():
        assert value not in captured, f"{name} leaked to the script"
    for entry in found["report"]:
        assert {t["what"]: t.get("error") for t in entry["tries"]}.get("environ") == "Permission denied"


def test_a_script_run_as_root_has_no_capability_to_read_other_processes(hooks_dir, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only root has the capabilities to drop")
    path = hooks_dir / "caps.sh"
    path.write_text("#!/bin/sh\ngrep -E '^Cap(Bnd|Eff|Prm|Amb):' /proc/self/status\n")
    path.chmod(0o755)

    run = runner.run_script(
        path, data=b"", env={"PATH": "/usr/bin:/bin"}, cwd=str(tmp_path), timeout=10, output_cap=4096
    )

    caps = dict(line.split(":\t") for line in run.stdout.text().splitlines())
    for name, number in isolation.DROPPED_CAPABILITIES.items():
        for kind in ("CapBnd", "CapEff", "CapPrm", "CapAmb"):
            assert not int(caps[kind], 16) & (1 << number), f"{name} left in {kind}"
    # Everything else a root script may legitimately need is still there (e.g. CAP_CHOWN, CAP_KILL).
    assert int(caps["CapEff"], 16) & (1 << 0)
    assert int(caps["CapEff"], 16) & (1 << 5)


def test_every_process_of_the_project_is_non_dumpable():
    # This test process ran django.setup() (pytest-django): AppConfig.ready protected it.
    pr_get_dumpable = 3
    assert isolation.libc_prctl(pr_get_dumpable, 0, 0, 0, 0) == 0
