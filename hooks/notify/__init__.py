"""Notifications through Apprise: the parts that do not depend on the delivery pipeline.

* ``templates`` — title/body templates (Jinja2 sandbox), defaults per event, save-time validation, bounded rendering;
* ``urls`` — Apprise URLs: parsing, the address policy for every host they name, masking and unmasking;
* ``quiet`` — quiet hours: send now, or hold until the window ends;
* ``send`` — one notification to one or more Apprise URLs, as a ``hooks.transports.Result`` or a ``HookError``.

docs/NOTIFICATIONS.md describes them for users.
"""
