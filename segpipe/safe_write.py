"""Writing segpipe's own files (target/: compiled SQL, run results, parse caches) safely.

Each file is written to a new temporary file beside it — created exclusively and
never through a symbolic link (O_EXCL | O_NOFOLLOW) — and renamed over the old
one. A rename replaces a link planted at the file's name instead of following
it, so no file outside segpipe's own is ever written, and a reader sees the old
text or the new, never half of it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_own_file(path: Path, text: str) -> None:
    """Replace `path` with a new file holding `text` (UTF-8); raises OSError."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.unlink(missing_ok=True)  # a dead process's, or a planted link (unlink never follows)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
