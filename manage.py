#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys

from sublarr.env import exit_on_setting_error


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sublarr.settings")
    from django.core.management import execute_from_command_line

    with exit_on_setting_error():
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
