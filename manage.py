#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:  # a bad DASHBOARD_* variable: one clear line
        sys.stderr.write(f"{os.path.basename(sys.argv[0])}: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
