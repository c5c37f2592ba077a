"""One declaration per option (segpipe/options.py) drives typer and the typer-free path.

What can still go wrong is not drift between two copies (there is one) but the
translation: typer must read each declaration as entry.py's parser does — the
same flags and no others (no `--no-full-refresh`), one plain value each or a
flag alone, the same default — and the command's function must take exactly
the declared keywords.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import typer.main

from segpipe import cli, entry
from segpipe.options import FAST_COMMANDS

GROUP = typer.main.get_command(cli.app)
TYPE_NAMES = {bool: ("bool", "boolean"), int: ("int", "integer"), str: ("str", "text"), Path: ("path",)}


@pytest.mark.parametrize("name", sorted(FAST_COMMANDS))
def test_typer_reads_the_declarations_as_the_fast_parser_does(name):
    command = FAST_COMMANDS[name]
    params = {param.name: param for param in GROUP.commands[name].params}
    assert list(params) == [option.name for option in command.options]
    for option in command.options:
        param = params[option.name]
        assert (tuple(param.opts), tuple(param.secondary_opts)) == (option.flags, ())
        assert param.default == option.default
        assert param.is_flag == (option.type is bool)
        assert param.type.name in TYPE_NAMES[option.type]
        assert (param.multiple, param.count, param.required, param.envvar) == (False, False, False, None)
        assert param.is_flag or param.nargs == 1
        assert param.help == option.help
    assert GROUP.commands[name].help == inspect.cleandoc(command.help)


@pytest.mark.parametrize("name", sorted(FAST_COMMANDS))
def test_the_function_takes_the_declared_options(name):
    command = FAST_COMMANDS[name]
    module, _, function = command.function.partition(":")
    parameters = inspect.signature(getattr(__import__(module, fromlist=[function]), function)).parameters
    assert list(parameters)[0] == "echo"
    assert set(list(parameters)[1:]) == {option.name for option in command.options}


def test_every_declared_flag_is_parsed_by_the_fast_path():
    for name, command in FAST_COMMANDS.items():
        for option in command.options:
            for flag in option.flags:
                argv = [name, flag] if option.type is bool else [name, flag, "7"]
                expected = True if option.type is bool else option.type("7")
                assert entry.fast_command(argv) == (name, {option.name: expected}), argv
