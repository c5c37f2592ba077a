"""The `segpipe` console script: a plain `segpipe top …` runs without typer, the rest through it.

The target is `segpipe top` within 1.5x of a bare `import duckdb;
duckdb.connect(PATH, read_only=True)` in a fresh Python (0.11-0.12 s). Through
typer it took 0.17-0.18 s, about 1.5x: `import typer` alone costs ~35 ms
(typer 0.28 vendors click) before any work is done. The same library calls
without typer take 0.15 s (1.3x).

So when the command line is `top` followed only by top's own options, each once,
as `--opt value`, `--opt=value` or `-o value`, with a plain value (an int all
digits, nothing empty or starting with '-'), this module calls `top.show`
itself and reports errors through the same `errors.one_line` as the typer
command. Anything unusual goes to typer (segpipe/cli.py), so its behaviour and
messages stay exactly typer's: `--help`, an unknown, repeated or valueless
option, an odd value, a global option before `top`, any other command,
SEGPIPE_DEBUG, a shell-completion request, and streams click would rewrap.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: `segpipe top`'s options: flag → (keyword of top.show, type). The typer command
#: cli.top declares the same options; tests/test_fast_top.py checks they agree.
TOP_OPTIONS = {
    "--project-dir": ("project_dir", Path),
    "--db": ("db", str),
    "--days": ("days", int),
    "--metric": ("metric", str),
    "--limit": ("limit", int),
    "--workspace-id": ("workspace_id", int),
    "--as-of": ("as_of", str),
    "--min-sent": ("min_sent", int),
    "--format": ("output_format", str),
    "--output": ("output", Path),
    "-o": ("output", Path),
}
ANSI = r"\033\[[;?0-9]*[a-zA-Z]"  # click's: what typer.echo strips when not writing to a terminal


def main() -> None:
    """Console-script entry point (also `python -m segpipe`)."""
    options = top_options(sys.argv[1:]) if _plain_environment() else None
    if options is None:
        from .cli import main as typer_main

        typer_main()  # exits
    else:
        sys.exit(run_top(options))


def top_options(args: list[str]) -> dict | None:
    """top.show's keyword arguments for a plain `top …` command line; None means typer's job."""
    if args[:1] != ["top"]:
        return None
    options = {}
    words = iter(args[1:])
    for word in words:
        if word.startswith("--") and "=" in word:
            flag, _, text = word.partition("=")
        else:
            flag, text = word, next(words, None)
        if flag not in TOP_OPTIONS or text is None:
            return None
        name, kind = TOP_OPTIONS[flag]
        value = _value(kind, text)
        if value is None or name in options:
            return None
        options[name] = value
    return options


def _value(kind: type, text: str):
    """What click would make of `text`, or None when it is not plainly valid."""
    if not text or text.startswith("-"):
        return None
    if kind is int:
        return int(text) if text.isascii() and text.isdigit() else None
    if kind is Path and os.path.exists(text) and not os.access(text, os.R_OK):
        return None  # click refuses a path that exists but cannot be read
    return kind(text)


def _plain_environment() -> bool:
    """False when typer would do what the fast path does not: show tracebacks
    (SEGPIPE_DEBUG), answer a shell-completion request (`_…_COMPLETE`), or print
    through rewrapped streams (Windows, a missing or ASCII-encoded stdout/stderr)."""
    from .errors import debugging

    if debugging() or sys.platform.startswith("win"):
        return False
    if any(name.startswith("_") and name.endswith("_COMPLETE") for name in os.environ):
        return False
    return all(stream is not None and not _ascii(stream) for stream in (sys.stdout, sys.stderr))


def _ascii(stream) -> bool:
    import codecs

    try:
        return codecs.lookup(getattr(stream, "encoding", None) or "ascii").name == "ascii"
    except LookupError:
        return False


def echo(text: str, nl: bool = True, err: bool = False) -> None:
    """typer.echo for text on the streams _plain_environment admits: ANSI escape
    codes removed unless the stream is a terminal, then written and flushed."""
    stream = sys.stderr if err else sys.stdout
    out = text + "\n" if nl else text
    if "\033" in out and not stream.isatty():
        import re

        out = re.sub(ANSI, "", out)
    if out:
        stream.write(out)
    stream.flush()


def run_top(options: dict) -> int:
    """`segpipe top` as the typer command runs it (cli.top, cli.reports_errors); its exit code."""
    from .errors import one_line
    from .top import show

    try:
        show(echo, **options)
    except (Exception, KeyboardInterrupt) as exc:  # SEGPIPE_DEBUG never gets here: typer shows tracebacks
        line, code = one_line(exc)
        echo(line, err=True)
        return code
    return 0
