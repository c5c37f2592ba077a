"""The `segpipe` console script: a plain `segpipe top …`, `run …` or analysis runs without typer, the rest through it.

`import typer` alone costs ~35 ms (typer 0.28 vendors click) before any work
is done: a fifth of `segpipe top`, and a tenth of a `segpipe run` with nothing
to do (benchmarks/startup.py measures both ways side by side).

So when the command line is a command of options.FAST_COMMANDS followed only
by its own arguments (plain words, not starting with '-') and options, each
once, as `--opt value`, `--opt=value` or `-o value` with a plain value (an int
all digits, nothing empty or starting with '-'), or a flag alone
(`--full-refresh`), this module calls the command's function
itself — the one the typer command calls, with options read from the same
declarations (options.py) — and reports errors through the same
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

ANSI = r"\033\[[;?0-9]*[a-zA-Z]"  # click's: what typer.echo strips when not writing to a terminal


def main() -> None:
    """Console-script entry point (also `python -m segpipe`)."""
    running = sys.argv[1:2] == ["run"]
    if running:  # a signal from the start is one line (interrupt.hold_stop_signals): before any other import
        from .interrupt import hold_stop_signals

        hold_stop_signals()
    command = fast_command(sys.argv[1:]) if _plain_environment() else None
    try:
        if command is None:
            from .cli import main as typer_main

            typer_main()  # exits
        else:
            sys.exit(run_fast(*command))
    finally:
        if running:  # the run is over and its exit code known: a signal now must not kill the exit
            from .interrupt import ignore_stop_signals

            ignore_stop_signals()


def fast_command(args: list[str]) -> tuple[str, dict] | None:
    """The command and its function's keyword arguments for a plain `top …`, `run …`,
    `compare A B …` and so on; None means typer's job."""
    from .options import FAST_COMMANDS

    if not args or args[0] not in FAST_COMMANDS:
        return None
    command = FAST_COMMANDS[args[0]]
    by_flag = {flag: option for option in command.options for flag in option.flags}
    values, positional = {}, []
    words = iter(args[1:])
    for word in words:
        if word and not word.startswith("-"):
            positional.append(word)
            continue
        flag, equals, text = word.partition("=") if word.startswith("--") else (word, "", "")
        option = by_flag.get(flag)
        if option is None:
            return None
        if option.type is bool:
            value = None if equals else True  # `--flag=…` is typer's to refuse
        else:
            value = _value(option.type, text if equals else next(words, None))
        if value is None or option.name in values:
            return None
        values[option.name] = value
    arguments = _arguments(command.arguments, positional)
    if arguments is None:
        return None
    return args[0], {**arguments, **values}


def _arguments(declared, words: list[str]) -> dict | None:
    """The positional words as the declared arguments' values, or None when they do not
    fit (too few or too many: typer's to explain)."""
    values = {}
    for argument in declared:
        if argument.many:
            if not words:
                return None
            values[argument.name], words = list(words), []
        elif words:
            values[argument.name], words = words[0], words[1:]
        elif not argument.optional:
            return None
    return None if words else values


def _value(kind: type, text: str | None):
    """What click would make of `text`, or None when it is not plainly valid."""
    if not text or text.startswith("-"):
        return None
    if kind is int:
        # more digits than Python's int() reads (4300) are click's to refuse, as any non-number
        return int(text) if text.isascii() and text.isdigit() and len(text) <= 4300 else None
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


def run_fast(command: str, values: dict) -> int:
    """A fast command as its typer command runs it (under cli.reports_errors); its exit code."""
    from .errors import one_line
    from .options import FAST_COMMANDS

    try:  # the import too, as in the typer command: Ctrl-C while importing duckdb is one line as well
        FAST_COMMANDS[command].call(echo, **values)
    except (Exception, KeyboardInterrupt) as exc:  # SEGPIPE_DEBUG never gets here: typer shows tracebacks
        line, code = one_line(exc)
        if line:
            echo(line, err=True)
        return code
    return 0
