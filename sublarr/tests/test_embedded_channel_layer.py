"""Embedded profile: the SQLite channel layer joins the processes of one machine."""

from __future__ import annotations

import subprocess
import sys

import pytest

import testsupport

pytestmark = [pytest.mark.embedded, pytest.mark.slow]

LISTENER = """
import asyncio, django, json, sys
django.setup()
from channels.layers import get_channel_layer

async def main():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("probe", channel)
    print("ready", flush=True)
    message = await asyncio.wait_for(layer.receive(channel), timeout=30)
    print(json.dumps(message), flush=True)

asyncio.run(main())
"""

SENDER = """
import django
django.setup()
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
async_to_sync(get_channel_layer().group_send)("probe", {"type": "probe.message", "text": "from another process"})
"""


def test_group_message_crosses_processes(proc_env):
    listener = subprocess.Popen(
        [sys.executable, "-c", LISTENER],
        env=proc_env,
        cwd=testsupport.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert listener.stdout is not None
    try:
        assert listener.stdout.readline().strip() == "ready"
        subprocess.run([sys.executable, "-c", SENDER], env=proc_env, cwd=testsupport.BASE_DIR, check=True, timeout=60)
        out, err = listener.communicate(timeout=30)
    finally:
        listener.kill()

    assert listener.returncode == 0, err
    assert out.strip() == '{"type": "probe.message", "text": "from another process"}'
