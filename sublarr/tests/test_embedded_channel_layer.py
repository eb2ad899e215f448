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


# The same crossing with the layer built by hand: a polling interval of an
# hour, so the message can only arrive by the doorbell — or, without one, an
# interval short enough for polling alone to carry it.
LISTENER_OWN_LAYER = """
import asyncio, django, json, sys
django.setup()
from sublarr.channel_layer import EmbeddedChannelLayer

async def main():
    layer = EmbeddedChannelLayer(database="channels", polling_interval=float(sys.argv[1]), doorbell=sys.argv[2] == "on")
    channel = await layer.new_channel()
    await layer.group_add(sys.argv[3], channel)
    receiving = asyncio.ensure_future(layer.receive(channel))
    # Ready once the reader runs (and, with one, its doorbell is bound).
    while not layer._polling_tasks or (layer.doorbell and not layer._doorbells):
        await asyncio.sleep(0.01)
    print("ready", flush=True)
    message = await asyncio.wait_for(receiving, timeout=30)
    print(json.dumps(message), layer.rings["woken"] > 0, flush=True)

asyncio.run(main())
"""

SENDER_OWN_LAYER = """
import asyncio, django, sys
django.setup()
from sublarr.channel_layer import EmbeddedChannelLayer

async def main():
    layer = EmbeddedChannelLayer(database="channels", doorbell=sys.argv[1] == "on")
    await layer.group_send(sys.argv[2], {"type": "probe.message", "text": "rung"})
    print(layer.rings)

asyncio.run(main())
"""


@pytest.mark.parametrize(
    ("polling_interval", "doorbell", "woken"),
    [("3600", "on", True), ("0.05", "off", False)],
    ids=["doorbell-only", "polling-only"],
)
def test_a_message_is_read_by_the_doorbell_or_by_polling_alone(proc_env, polling_interval, doorbell, woken):
    group = f"probe-{doorbell}"  # a group of its own: members other tests left behind would be rung too
    listener = subprocess.Popen(
        [sys.executable, "-c", LISTENER_OWN_LAYER, polling_interval, doorbell, group],
        env=proc_env,
        cwd=testsupport.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert listener.stdout is not None
    try:
        assert listener.stdout.readline().strip() == "ready"
        sent = subprocess.run(
            [sys.executable, "-c", SENDER_OWN_LAYER, doorbell, group],
            env=proc_env,
            cwd=testsupport.BASE_DIR,
            check=True,
            timeout=60,
            capture_output=True,
            text=True,
        )
        out, err = listener.communicate(timeout=40)
    finally:
        listener.kill()

    assert listener.returncode == 0, err
    assert out.strip() == f'{{"type": "probe.message", "text": "rung"}} {woken}'
    rings = {"sent": 1, "refused": 0, "woken": 0} if doorbell == "on" else {"sent": 0, "refused": 0, "woken": 0}
    assert sent.stdout.strip() == str(rings)


def test_a_ring_for_a_process_that_is_gone_is_counted_and_the_message_kept(proc_env):
    code = """
import asyncio, django
django.setup()
from sublarr.channel_layer import EmbeddedChannelLayer
from channels_lite.models import Event

async def main():
    layer = EmbeddedChannelLayer(database="channels")
    # A member whose process is gone: nobody has its doorbell.
    await layer.group_add("probe-gone", "specific.0123456789abcdef0123456789abcdef!gone")
    await layer.group_send("probe-gone", {"type": "probe.message"})
    print(layer.rings, await Event.objects.filter(channel_name="specific.0123456789abcdef0123456789abcdef!").acount())

asyncio.run(main())
"""
    result = subprocess.run(
        [sys.executable, "-c", code], env=proc_env, cwd=testsupport.BASE_DIR, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "{'sent': 0, 'refused': 1, 'woken': 0} 1"
