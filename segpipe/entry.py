"""The `segpipe` console script: a plain `segpipe top …` or `segpipe run …` runs without typer, the rest through it.

`import typer` alone costs ~35 ms (typer 0.28 vendors click) before any work is
done, which two of issue 5's targets cannot afford:

- `segpipe top` within 1.5x of a bare `import duckdb; duckdb.connect(PATH,
  read_only=True)` in a fresh Python (0.11-0.12 s). Through typer it took
  0.17-0.18 s, about 1.5x; the same library calls without typer take 0.15 s (1.3x).
- an incremental `segpipe run` at most 15% of a full run. At scale m the
  incremental run takes ~0.60 s, ~35 ms of it importing typer; a run with
  nothing to do takes 0.25 s through typer and 0.22 s without it (medians of 15
  interleaved runs each, 30-37 ms apart).

So when the command line is a command of FAST_COMMANDS followed only by its own
options, each once, as `--opt value`, `--opt=value` or `-o value` with a plain
value (an int all digits, nothing empty or starting with '-'), or a flag alone
(`--full-refresh`), this module calls the command's function itself, the same
one the typer command calls, and reports errors through the same
`errors.one_line`. Anything unusual goes to typer (segpipe/cli.py), so its
behaviour and messages stay exactly typer's: `--help`, an unknown, repeated or
valueless option, a flag given a value, an odd value, a global option before
the command, any other command, SEGPIPE_DEBUG, a shell-completion request, and
streams click would rewrap.
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
    "--rank-by": ("rank_by", str),
}
#: `segpipe run`'s options, likewise for pipeline.run_command and cli.run (tests/test_fast_run.py);
#: bool is a flag, which takes no value.
RUN_OPTIONS = {
    "--project-dir": ("project_dir", Path),
    "--db": ("db", str),
    "--select": ("select", str),
    "-s": ("select", str),
    "--full-refresh": ("full_refresh", bool),
    "--vars": ("vars_", str),
    "--as-of": ("as_of", str),
    "--wait": ("wait", str),  # `--wait` without SECONDS goes to typer (cli.optional_values)
}
#: the commands run without typer: name → (options, module, function called as function(echo, **options))
FAST_COMMANDS = {
    "top": (TOP_OPTIONS, "segpipe.top", "show"),
    "run": (RUN_OPTIONS, "segpipe.pipeline", "run_command"),
}
ANSI = r"\033\[[;?0-9]*[a-zA-Z]"  # click's: what typer.echo strips when not writing to a terminal


def main() -> None:
    """Console-script entry point (also `python -m segpipe`)."""
    command = fast_command(sys.argv[1:]) if _plain_environment() else None
    if command is None:
        from .cli import main as typer_main

        typer_main()  # exits
    else:
        sys.exit(run_fast(*command))


def fast_command(args: list[str]) -> tuple[str, dict] | None:
    """The command and its function's keyword arguments for a plain `top …` or `run …`;
    None means typer's job."""
    if not args or args[0] not in FAST_COMMANDS:
        return None
    table = FAST_COMMANDS[args[0]][0]
    options = {}
    words = iter(args[1:])
    for word in words:
        flag, equals, text = word.partition("=") if word.startswith("--") else (word, "", "")
        if flag not in table:
            return None
        name, kind = table[flag]
        if kind is bool:
            value = None if equals else True  # `--flag=…` is typer's to refuse
        else:
            value = _value(kind, text if equals else next(words, None))
        if value is None or name in options:
            return None
        options[name] = value
    return args[0], options


def _value(kind: type, text: str | None):
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


def run_fast(command: str, options: dict) -> int:
    """A fast command as its typer command runs it (cli.top or cli.run under cli.reports_errors); its exit code."""
    import importlib

    from .errors import one_line

    _, module, function = FAST_COMMANDS[command]
    try:  # the import too, as in the typer command: Ctrl-C while importing duckdb is one line as well
        getattr(importlib.import_module(module), function)(echo, **options)
    except (Exception, KeyboardInterrupt) as exc:  # SEGPIPE_DEBUG never gets here: typer shows tracebacks
        line, code = one_line(exc)
        if line:
            echo(line, err=True)
        return code
    return 0
