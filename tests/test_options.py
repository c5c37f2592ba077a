"""One declaration per argument and option (segpipe/options.py) drives typer and the typer-free path.

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
    assert list(params) == [argument.name for argument in command.arguments] + [option.name for option in command.options]
    for argument in command.arguments:
        param = params[argument.name]
        assert param.param_type_name == "argument"
        assert (param.required, param.nargs) == (not argument.optional, -1 if argument.many else 1)
        assert param.type.name in TYPE_NAMES[str]
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
    assert set(list(parameters)[1:]) == {item.name for item in (*command.arguments, *command.options)}


def test_every_declared_flag_is_parsed_by_the_fast_path():
    for name, command in FAST_COMMANDS.items():
        words = [] if not command.arguments or command.arguments[0].optional else ["US SaaS"] * len(command.arguments)
        arguments = {a.name: ["US SaaS"] if a.many else "US SaaS" for a in command.arguments if not a.optional}
        for option in command.options:
            for flag in option.flags:
                argv = [name, *words, flag] if option.type is bool else [name, *words, flag, "7"]
                expected = True if option.type is bool else option.type("7")
                assert entry.fast_command(argv) == (name, {**arguments, option.name: expected}), argv


@pytest.mark.parametrize("argv, expected", [
    (["compare", "1", "EU CMOs", "--days", "90"], {"a": "1", "b": "EU CMOs", "days": 90}),
    (["compare", "--days", "90", "1", "2"], {"a": "1", "b": "2", "days": 90}),  # options first, as click allows
    (["trend", "1", "2", "3"], {"segments": ["1", "2", "3"]}),
    (["best-time"], {}),
    (["best-time", "7", "--tz", "Europe/Berlin"], {"segment": "7", "tz": "Europe/Berlin"}),
    (["variants", "7", "--campaign", "3"], {"segment": "7", "campaign": 3}),
])
def test_arguments_are_read_by_the_fast_path(argv, expected):
    assert entry.fast_command(argv) == (argv[0], expected)


@pytest.mark.parametrize("argv", [
    ["compare", "1"],  # B missing
    ["compare", "1", "2", "3"],  # one too many
    ["trend"],  # no segment
    ["best-time", "1", "2"],
    ["variants", "-1"],  # looks like an option: typer decides
    ["variants", ""],
])
def test_arguments_that_do_not_fit_are_left_to_typer(argv):
    assert entry.fast_command(argv) is None
