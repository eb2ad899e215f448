"""The embedded profile's channel layer: channels-lite's SQLite layer, plus a doorbell between the processes.

channels-lite's reader polls its SQLite table: a message waits for the next
poll (up to ``polling_interval``) before the server that should read it even
looks. Here every process that reads has a doorbell — a Unix datagram socket
in the abstract namespace, named after the database file and the process's
channel prefix — and a writer rings the doorbells of the processes its
message is for once the row is committed. The reader waits on its doorbell
*or* the polling interval, whichever comes first, so:

* a message is read as soon as it is committed, not up to a polling interval later;
* nothing depends on the ring: a ring that is lost (the datagram queue of the
  reader is full, a process in another network namespace, a platform without
  abstract sockets) costs what it cost before — the next poll — and the table
  is still the only place messages live (durability, capacity, expiry and
  ordering are channels-lite's, unchanged);
* a ring is one non-blocking ``sendto`` per reading process per message, and
  never an error: a reader that is gone is a refused datagram, ignored.

``group_send`` is also done in one hop to the database thread (members, their
backlogs and the insert in one transaction) instead of channels-lite's one
hop per query — fewer thread switches on the writer's side, which is the
producer's process (``events.bridge``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import socket
import sys
import time
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from channels_lite.layers import BoundedQueue, ChannelEmpty
from channels_lite.layers.core import SQLiteChannelLayer
from channels_lite.models import Event, GroupMembership
from django.db.models import Count
from django.utils import timezone

logger = logging.getLogger(__name__)

# Abstract Unix sockets (a name, no file to clean up, gone with the process) are Linux's.
DOORBELL_AVAILABLE = sys.platform.startswith("linux")
RING = b"\x01"


class EmbeddedChannelLayer(SQLiteChannelLayer):
    """channels-lite's SQLite layer whose readers are woken by a doorbell, not only by polling (module docstring)."""

    def __init__(self, *, doorbell: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.doorbell = doorbell and DOORBELL_AVAILABLE
        # One namespace per database file: two installs on one machine never ring each other.
        name = str(self.db_settings["NAME"])
        self._namespace = hashlib.sha256(name.encode()).hexdigest()[:16]
        self._ringer: socket.socket | None = None
        # Per reading prefix: the bound socket and the asyncio.Event it sets.
        self._doorbells: dict[str, socket.socket] = {}
        self.rings = {"sent": 0, "refused": 0, "woken": 0}

    def _address(self, prefix: str) -> bytes:
        # "\0" first: the abstract namespace. The prefix is "specific.<32 hex>!".
        return b"\0sublarr-channels-" + f"{self._namespace}-{prefix}".encode()

    # --- writing ------------------------------------------------------------

    def _ring(self, channels: list[str]) -> None:
        """Ring the doorbell of every process that reads one of ``channels`` (after their rows are committed)."""
        if not self.doorbell:
            return
        prefixes = {channel[: channel.index("!") + 1] for channel in channels if "!" in channel}
        if not prefixes:
            return
        if self._ringer is None:
            ringer = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            ringer.setblocking(False)
            self._ringer = ringer
        for prefix in prefixes:
            try:
                self._ringer.sendto(RING, self._address(prefix))
            except OSError:
                # No such reader (gone), or its queue is full (it has rings
                # waiting already): either way, nothing to wake.
                self.rings["refused"] += 1
            else:
                self.rings["sent"] += 1

    async def send(self, channel: str, message: dict[str, Any], expiry: Any = None) -> None:
        await super().send(channel, message, expiry)
        self._ring([channel])

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        channels = await self._execute_with_retry(lambda: self._group_insert(group, message))
        self._ring(channels)

    @sync_to_async
    def _group_insert(self, group: str, message: dict[str, Any]) -> list[str]:
        """Insert ``message`` for every member of ``group`` with room for it; return the channels it was written for.

        What channels-lite's ``group_send`` does — a member whose channel is at
        capacity is skipped, as the channel-layer spec says — in one hop to
        this thread instead of one per query: the members, their backlogs in
        one grouped COUNT, one bulk INSERT.
        """
        now = timezone.now()
        members = list(
            GroupMembership.objects.using(self.database)
            .filter(group_name=group, expires_at__gte=now)
            .values_list("channel_name", flat=True)
        )
        if not members:
            return []
        # Stored under the non-local name ("specific.<process>!"), as channels-lite stores them.
        stored_as = {channel: self.non_local_name(channel) if "!" in channel else channel for channel in members}
        backlog: dict[str, int] = {}
        if self.enforce_capacity:
            backlog = dict(
                Event.objects.using(self.database)
                .filter(channel_name__in=set(stored_as.values()), delivered=False, expires_at__gte=now)
                .values_list("channel_name")
                .annotate(n=Count("id"))
                .values_list("channel_name", "n")
            )
        expires_at = now + timedelta(seconds=self.expiry)
        rows = []
        written = []
        for channel in members:
            name = stored_as[channel]
            if self.enforce_capacity and backlog.get(name, 0) >= self.get_capacity(channel):
                continue
            payload = message
            if "!" in channel:
                payload = {**message, "__asgi_channel__": channel}
            rows.append(Event(channel_name=name, data=self.serialize(payload), expires_at=expires_at))
            written.append(channel)
        # One INSERT, committed on its own (the reads above take no write lock: a
        # reader marking a row delivered never waits for this process's Python).
        Event.objects.using(self.database).bulk_create(rows)
        return written

    # --- reading ------------------------------------------------------------

    def _doorbell_for(self, prefix: str, loop: asyncio.AbstractEventLoop, wake: asyncio.Event) -> socket.socket | None:
        """Bind (once per process) this prefix's doorbell and let ``loop`` set ``wake`` when it rings."""
        if not self.doorbell:
            return None
        sock = self._doorbells.get(prefix)
        if sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                sock.bind(self._address(prefix))
            except OSError as exc:
                sock.close()
                logger.warning("Channel layer doorbell unavailable (%s); reading by polling only", exc)
                return None
            sock.setblocking(False)
            self._doorbells[prefix] = sock

        def rung() -> None:
            with contextlib.suppress(BlockingIOError, InterruptedError):
                while True:
                    sock.recv(64)
            self.rings["woken"] += 1
            wake.set()

        loop.add_reader(sock.fileno(), rung)
        return sock

    async def _poll_and_distribute(self, prefix: str) -> None:
        """channels-lite's reader loop (0.4.0), waiting on the doorbell or the polling interval between reads.

        Otherwise the same: it reads one message per query, routes it to its
        channel's buffer, stops after ``polling_idle_timeout`` without
        receivers or messages, and keeps going after an error (logged, not
        printed), a polling interval later.
        """
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        sock = self._doorbell_for(prefix, loop, wake)
        last_activity = time.time()
        try:
            while True:
                if self._active_receivers[prefix] == 0 and time.time() - last_activity > self.polling_idle_timeout:
                    for channel_name in list(self.receive_buffer):
                        if channel_name.startswith(prefix):
                            del self.receive_buffer[channel_name]
                    self._polling_tasks.pop(prefix, None)
                    self._active_receivers.pop(prefix, None)
                    self._polling_locks.pop(prefix, None)
                    return
                # Cleared before the read: a ring that comes after it is kept for the wait below.
                wake.clear()
                try:
                    msg_channel, message = await self._execute_with_retry(lambda: self._receive_single_from_db(prefix))
                except ChannelEmpty:
                    if self.auto_trim and random.random() < 0.01:
                        await self.clean_expired()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), self.polling_interval)
                    continue
                except Exception as exc:
                    logger.warning("Channel layer read failed for %s: %s: %s", prefix, type(exc).__name__, exc)
                    await asyncio.sleep(self.polling_interval)
                    continue
                buffer = self.receive_buffer.get(msg_channel)
                if buffer is None:
                    buffer = self.receive_buffer[msg_channel] = BoundedQueue(maxsize=self.get_capacity(msg_channel))
                await buffer.put(message)
                last_activity = time.time()
        except asyncio.CancelledError:
            self._polling_tasks.pop(prefix, None)
            self._polling_locks.pop(prefix, None)
            raise
        finally:
            if sock is not None and not loop.is_closed():
                loop.remove_reader(sock.fileno())

    async def close(self) -> None:
        await super().close()
        for sock in self._doorbells.values():
            sock.close()
        self._doorbells.clear()
