"""Notifications through Apprise: the parts that do not depend on the delivery pipeline.

* ``templates`` — title/body templates: save-time validation, bounded rendering with a fallback to
  ``defaults`` (one title and body per event), in the Jinja2 ``sandbox``;
* ``urls`` — Apprise URLs: parsing, the address policy for every host they name, masking and unmasking;
* ``quiet`` — quiet hours: send now, hold until the window ends, or skip;
* ``send`` — one notification to one or more Apprise URLs, as a ``hooks.transports.Result`` or a
  ``HookError``; ``guard`` applies the address policy to every connection Apprise opens, and
  ``apprise_setup`` keeps Apprise's plugins, storage and log to Sublarr's terms.

docs/NOTIFICATIONS.md describes them for users.
"""
