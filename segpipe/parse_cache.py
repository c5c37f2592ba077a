"""A parse cache for project.yml, so `segpipe top` starts without importing PyYAML.

Importing PyYAML costs about 17 ms, a tenth of `segpipe top`'s start-up, just
to read a file that rarely changes. Like dbt's partial-parse file, the parsed
value is kept as JSON under the project's `target/` folder, next to the exact
text it was parsed from, and reused only while the file still holds that text:
an edit is always seen, even one that keeps the file's size and modification
time. A cache that is missing, unreadable, foreign or for other text is
ignored and rewritten; a value JSON cannot hold exactly (a date, a number as a
key) is never cached. The cache only saves parsing: every value is validated
as usual.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from .safe_write import write_own_file

#: Marks a file as this cache, in this layout.
FORMAT = "segpipe parse cache 2"  # 2: a key written twice is refused


def cached_parse(text: str, cache: Path, parse: Callable[[str], object]) -> object:
    """parse(text), or the value stored in `cache` by an earlier call with the same text."""
    try:
        stored = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        stored = None
    if isinstance(stored, dict) and stored.get("format") == FORMAT and stored.get("text") == text and "value" in stored:
        return stored["value"]
    value = parse(text)
    _store(cache, {"format": FORMAT, "text": text, "value": value})
    return value


def _store(cache: Path, entry: dict) -> None:
    """Write the entry atomically when JSON holds its value exactly; never fail the command."""
    try:
        encoded = json.dumps(entry)
    except (TypeError, ValueError, RecursionError):  # a date, a set, a circular value
        return
    if json.loads(encoded) != entry:  # a number key turned to text, NaN
        return
    try:
        write_own_file(cache, encoded)
    except OSError:  # a read-only project, or target/ is a file: parse again next time
        pass
