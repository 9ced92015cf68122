"""Static files: WhiteNoise's hashed, compressed storage, collected at start when stale.

`rundashboard` runs `collect_if_stale()` before it loads the app, so `make demo` works from a
fresh clone and an edited source file is picked up at the next start; nobody has to remember
`collectstatic`. The collected tree lives in `STATIC_ROOT` (`.static/` in the checkout, ignored
by git), outside the watched task tree.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.core.exceptions import ImproperlyConfigured
from whitenoise.storage import CompressedManifestStaticFilesStorage

log = logging.getLogger(__name__)

MANIFEST = "staticfiles.json"


class DashboardStaticStorage(CompressedManifestStaticFilesStorage):
    # Tests and shells that never collected still render pages: the plain name, which
    # WhiteNoise serves from the source folders (WHITENOISE_USE_FINDERS).
    manifest_strict = False

    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:
            return name


def newest_source_mtime() -> float:
    newest = 0.0
    for finder in get_finders():
        for path, storage in finder.list([]):
            newest = max(newest, os.stat(storage.path(path)).st_mtime)
    return newest


def collect_if_stale() -> bool:
    """Run `collectstatic` if the collected tree is missing or older than a source file.

    A lock keeps two servers starting at once from writing the same tree together. A fresh
    tree needs no lock, so a read-only checkout that was collected once still starts.
    """
    root = Path(settings.STATIC_ROOT)
    if _fresh(root):
        return False
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = open(root / ".lock", "w")  # noqa: SIM115 - closed by the `with` below
    except OSError as exc:
        raise ImproperlyConfigured(
            f"cannot write the static files into {root} ({exc.strerror or exc}); set "
            "DASHBOARD_STATIC_ROOT to a folder this user may write"
        ) from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _fresh(root):
            return False  # another server collected them while we waited
        from django.contrib.staticfiles.storage import staticfiles_storage
        from django.core.management import call_command

        log.info("collecting static files into %s", root)
        call_command("collectstatic", interactive=False, verbosity=0)
        # The storage read the old (or no) manifest when it was made: read the new one.
        storage: Any = staticfiles_storage
        storage.hashed_files, storage.manifest_hash = storage.load_manifest()
        return True


def _fresh(root: Path) -> bool:
    manifest = root / MANIFEST
    try:
        return manifest.stat().st_mtime >= newest_source_mtime()
    except OSError:  # missing, or its folder is not one: collect (and say so if we cannot)
        return False
