"""Script hook runner: cost of one run, a 1 MB envelope, and 100 MB of output (time and memory).

``python -m bench.script_runs [--runs N]``. No database: a temporary data dir
and hooks dir; ``hooks.transports.script.deliver`` is called directly, as the
queue worker does. Compared against a bare ``subprocess.run(["/bin/true"])``
and, for memory, ``Popen.communicate()`` reading the same 100 MB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOOD = "#!/bin/sh\nhead -c 104857600 /dev/zero | tr '\\0' 'o'\n"


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed(func, runs: int) -> dict[str, float]:
    func()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {
        "p50": samples[len(samples) // 2],
        "p99": samples[min(len(samples) - 1, int(len(samples) * 0.99))],
        "mean": statistics.fmean(samples),
    }


def row(label: str, stats: dict[str, float]) -> None:
    print(f"  {label:<48} p50 {stats['p50']:7.2f} ms   p99 {stats['p99']:7.2f} ms   mean {stats['mean']:7.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="sublarr-bench-script-")
    try:
        for name in ("REDIS_URL", "DATABASE_URL", "SUBLARR_REDIS_PREFIX"):
            os.environ.pop(name, None)
        os.environ["SUBLARR_DATA_DIR"] = data_dir
        os.environ["DJANGO_SETTINGS_MODULE"] = "sublarr.settings"
        os.environ["SUBLARR_LOG_LEVEL"] = "WARNING"
        import django

        django.setup()
        from django.conf import settings

        from events.samples import sample_payload
        from events.services import build_envelope
        from hooks.models import HookConfig
        from hooks.transports.script import deliver

        hooks_dir = Path(settings.HOOKS_DIR)
        hooks_dir.mkdir(parents=True, exist_ok=True)
        scripts = {
            "noop.sh": "#!/bin/sh\nexit 0\n",
            "drain.sh": "#!/bin/sh\ncat > /dev/null\n",
            "flood.sh": FLOOD,
        }
        for name, body in scripts.items():
            (hooks_dir / name).write_text(body)
            (hooks_dir / name).chmod(0o755)

        small = build_envelope("subtitle_downloaded", sample_payload("subtitle_downloaded"))
        big = build_envelope("provider_failed", {"error": "x" * (1024 * 1024)})
        noop, drain = HookConfig(script_path="noop.sh"), HookConfig(script_path="drain.sh")

        print(f"script runs ({args.runs} each; {os.cpu_count()} CPUs):")
        row("subprocess.run(['/bin/true']) (floor)", timed(lambda: subprocess.run(["/bin/true"]), args.runs))
        row(
            "subprocess.run(['noop.sh']) (sh, no checks)",
            timed(lambda: subprocess.run([hooks_dir / "noop.sh"]), args.runs),
        )
        row("deliver(): noop.sh, sample subtitle_downloaded", timed(lambda: deliver(noop, small), args.runs))
        row("deliver(): cat >/dev/null, 1 MB envelope", timed(lambda: deliver(drain, big), max(10, args.runs // 4)))

        before = peak_rss_mib()
        start = time.perf_counter()
        result = deliver(HookConfig(script_path="flood.sh", timeout_seconds=120), small)
        seconds = time.perf_counter() - start
        runner_growth = peak_rss_mib() - before
        assert result.extra["stdout_bytes"] == 100 * 1024 * 1024
        print(
            f"  deliver(): 100 MB to stdout                      {seconds:6.2f} s "
            f"({100 / seconds:6.0f} MB/s), kept {len(result.stdout)} B, peak RSS +{runner_growth:.1f} MiB"
        )

        before = peak_rss_mib()
        start = time.perf_counter()
        process = subprocess.Popen([hooks_dir / "flood.sh"], stdout=subprocess.PIPE)
        out, _ = process.communicate()
        seconds = time.perf_counter() - start
        naive_growth = peak_rss_mib() - before
        print(
            f"  Popen.communicate(): same 100 MB (for contrast)  {seconds:6.2f} s, "
            f"peak RSS +{naive_growth:.1f} MiB ({len(out) // (1024 * 1024)} MiB held)"
        )
        del out
        print(f"command: {sys.executable} -m bench.script_runs --runs {args.runs}")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
