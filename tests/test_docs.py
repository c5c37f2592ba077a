"""The README's CLI reference and `--help` describe the same commands and options.

Every command has a `### segpipe NAME` section in the README naming each of its
options (and whose option table names no option it lacks), and its `--help`
carries an example.
"""

from __future__ import annotations

import re

import pytest
import typer.main
import yaml

from segpipe.cli import app
from tests.conftest import REPO

GROUP = typer.main.get_command(app)
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


def reference() -> tuple[str, dict[str, str]]:
    """(the intro, {command: its section}) of the README's CLI reference."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## CLI reference\n", 1)[1].split("\n## ", 1)[0]
    intro, *parts = re.split(r"^### `segpipe ", section, flags=re.M)
    return intro, {part.split("`", 1)[0].split()[0]: part for part in parts}


def long_options(command) -> set[str]:
    return {opt for param in command.params for opt in param.opts if opt.startswith("--")} - {"--help"}


def test_every_command_has_a_readme_section_and_no_section_is_stale():
    assert set(reference()[1]) == set(GROUP.commands)


@pytest.mark.parametrize("name", sorted(GROUP.commands))
def test_readme_names_exactly_the_commands_options(name):
    section = reference()[1][name]
    command = GROUP.commands[name]
    options = long_options(command)
    missing = {o for o in options if not re.search(rf"(?<![\w-]){o}(?![\w-])", section)}
    assert not missing, f"README's `segpipe {name}` section lacks {sorted(missing)}"
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    stale = set(OPTION.findall(table)) - options
    assert not stale, f"README's `segpipe {name}` section names options the command lacks: {sorted(stale)}"
    heading = section.split("\n", 1)[0]
    for param in command.params:
        if param.param_type_name == "argument":
            assert (param.metavar or param.name.upper()) in heading


@pytest.mark.parametrize("name", sorted(GROUP.commands))
def test_help_has_a_summary_and_an_example(cli, name):
    result = cli(name, "--help")
    assert result.exit_code == 0
    assert re.search(rf"^\s+Example: segpipe {name}\b", result.stdout, flags=re.M), result.stdout
    assert GROUP.commands[name].help.strip()


def test_global_options_are_documented(cli):
    intro, _ = reference()
    assert long_options(GROUP) <= set(OPTION.findall(intro))
    result = cli("--help")
    assert re.search(r"^\s+Example: segpipe ", result.stdout, flags=re.M)


def test_help_examples_name_segments_of_the_demo():
    """An example a user copies from `--help` into the demo project finds its segments: a quoted
    segment name in an example is one of the demo's (a made-up name exits 2)."""
    names = {segment["name"] for segment in yaml.safe_load((REPO / "seeds" / "segments.yml").read_text())["segments"]}
    quoted = {name: set(re.findall(r'"([^"]+)"', command.help.split("Example:", 1)[1]))
              for name, command in GROUP.commands.items()}
    assert {name: found - names for name, found in quoted.items() if found - names} == {}


def test_ls_help_says_where_each_node_comes_from(cli):
    """SPEC §7: `segpipe ls` lists the nodes with their dependencies and where each comes from."""
    result = cli("ls", "--help")
    assert "origin (builtin or a file)" in " ".join(result.stdout.split())
