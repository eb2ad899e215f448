"""Signals of the event bus itself (the catalog's own signals are in ``events.catalog``)."""

from django.dispatch import Signal

# Sent by emit_event() as soon as an event is valid — inside the caller's
# transaction when there is one, before it commits — with ``sender`` = the
# event name and ``envelope``, ``using`` (the database alias). A receiver that
# writes to that database joins the caller's transaction (outside one, its
# write commits at once): what it writes commits with the change that emitted
# the event, or rolls back with it, and an exception it raises reaches
# emit_event's caller (as a failed write in the transaction would; a lost
# connection as events.EventUnavailable) before anything is sent. The event's
# catalog signal still goes out only on commit.
event_accepted = Signal()
