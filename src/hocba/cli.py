"""The `hocba` command: Django's management commands under one name.

`hocba demo`, `hocba students review`, `hocba rules evaluate` … are management commands of the
project's apps; Django's own (`migrate`, `runserver`, `createsuperuser`) are there too.
"""

from __future__ import annotations

import os
import sys

ALIASES = {"signer-agent": "signer_agent"}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hocba.config.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    from hocba.blobs import BlobError

    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ALIASES:
        args[0] = ALIASES[args[0]]
    try:
        execute_from_command_line(["hocba", *args])
    except ImproperlyConfigured as problem:
        # a setting from the environment that cannot be used: one line, not a traceback
        sys.stderr.write(f"hocba: CONFIG_INVALID: {problem}\n")
        raise SystemExit(2) from None
    except BlobError as refused:
        # a stored file gone or not matching its hash: named, never used
        sys.stderr.write(f"hocba: {refused.code}: {refused.message}\n")
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
