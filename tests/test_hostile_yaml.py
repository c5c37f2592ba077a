"""SPEC §8, §3, §12: what a user can put in a YAML file never hangs segpipe, and a
mistake is one line naming the file, the key's own line, the segment and the key."""

from __future__ import annotations

import textwrap

import pytest

from tests.conftest import make_project, run_segpipe
from tests.datasets import AS_OF, CAMPAIGNS, LEADS, SEGMENTS, SENDS


def alias_bomb(levels: int = 9, indent: str = "") -> str:
    """"Billion laughs": each level a list of nine aliases of the level before — a few
    hundred bytes standing for 9**levels strings."""
    lines = [f'{indent}l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        lines.append(f"{indent}l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def first_too_large(path) -> int:
    """The line of the first level past the limit: l5, 9**6 = 531,441 strings (l4 has 59,049)."""
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if "l5: &l5" in line)


@pytest.fixture
def root(tmp_path):
    return make_project(tmp_path / "proj", leads=LEADS, campaigns=CAMPAIGNS, campaign_leads=SENDS, segments=SEGMENTS)


def run(root, *args, timeout=60):
    return run_segpipe(*args, "--project-dir", root, timeout=timeout)


def refused_run(root, path, text: str) -> str:
    """Publish, write `text` to `path`, run again: exit 2, one line, the published file as it
    was. Returns the line."""
    published = run(root, "run", "--as-of", AS_OF.isoformat())
    assert published.returncode == 0, published.stderr
    db = root / "out.duckdb"
    before = db.read_bytes()
    path.write_text(text)
    result = run(root, "run", "--as-of", AS_OF.isoformat())
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert db.read_bytes() == before
    return result.stderr


def test_alias_bomb_in_the_segments_file(root):
    segments = root / "seeds" / "segments.yml"
    segments.write_text(alias_bomb() + segments.read_text())
    assert len(segments.read_bytes()) < 1500
    result = run(root, "run", "--as-of", AS_OF.isoformat(), timeout=20)
    assert result.returncode == 2
    assert result.stderr == (f"Error: {segments}:{first_too_large(segments)}: YAML aliases (*name) in the segments file expand to more than "
                             f"{100_000 + len(segments.read_text()):,} values — write the values out instead of "
                             "nesting aliases\n")
    assert not (root / "out.duckdb").exists()


@pytest.mark.parametrize("command", [["run", "--as-of", AS_OF.isoformat()], ["top"]])
def test_alias_bomb_under_a_project_yml_key(root, command):
    config = root / "project.yml"
    config.write_text(config.read_text().replace("vars:\n", "vars:\n" + alias_bomb(indent="  ")))
    result = run(root, *command, timeout=20)
    assert result.returncode == 2
    assert result.stderr.startswith(f"Error: {config}:{first_too_large(config)}: YAML aliases (*name) in project config expand to more than ")
    assert result.stderr.count("\n") == 1


def test_alias_bomb_in_a_model_yml_and_in_vars(root):
    doc = root / "models" / "bomb.yml"
    doc.write_text(alias_bomb())
    result = run(root, "run", "--as-of", AS_OF.isoformat(), timeout=20)
    assert result.returncode == 2
    assert result.stderr.startswith(f"Error: {doc}:{first_too_large(doc)}: YAML aliases (*name) in ")
    doc.unlink()
    flat = "{" + alias_bomb().replace("\n", ", ").rstrip(", ") + "}"
    result = run(root, "run", "--as-of", AS_OF.isoformat(), "--vars", flat, timeout=20)
    assert result.returncode == 2
    assert result.stderr.startswith("Error: --vars:1: YAML aliases (*name) in --vars expand to more than ")


def test_an_alias_inside_itself_is_refused(root):
    segments = root / "seeds" / "segments.yml"
    segments.write_text("loop: &loop [1, *loop]\n" + segments.read_text())
    result = run(root, "run", "--as-of", AS_OF.isoformat())
    assert result.returncode == 2
    assert result.stderr == (f"Error: {segments}:1: a YAML alias in the segments file refers to the list or mapping "
                             "it is in — such a value never ends; write the values out\n")


def test_modest_aliases_still_work(root):
    """Anchors that repeat a filter list a few times are ordinary YAML, not an attack."""
    segments = root / "seeds" / "segments.yml"
    segments.write_text(textwrap.dedent("""\
        segments:
          - id: 1
            name: US founders
            filters: &us_founders {countries: [US], roles: [Founder]}
          - id: 2
            name: US founders again
            filters: *us_founders
        """))
    result = run(root, "run", "--as-of", AS_OF.isoformat())
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("line, key", [
    ("    id: 99999999999999999999", "'id' must be a positive integer that fits in 64 bits"),
    ("    id: 1\n    workspace_id: 99999999999999999999", "'workspace_id' must be an integer that fits in 64 bits"),
    ("    id: 1\n    filters: {min_score: 1e400}", "filters.min_score: inf is beyond the range of a 64-bit number"),
    ('    id: 1\n    filters: {countries: ["U\\0S"]}', "filters.countries: 'U\\x00S' contains a NUL character"),
], ids=["id", "workspace_id", "min_score", "nul"])
def test_huge_numbers_and_nul_are_one_line_and_publish_nothing(root, line, key):
    segments = root / "seeds" / "segments.yml"
    error = refused_run(root, segments, f"segments:\n  - name: Hostile\n{line}\n")
    assert error.startswith(f"Error: {segments}:") and key in error


@pytest.mark.parametrize("config, text, line, key", [
    ("seeds/segments.yml", "segments:\n  - id: 1\n    name: US\n    filters:\n      countries: [US]\n    filters:\n"
                           "      roles: [CMO]\n", 6, "filters"),
    ("seeds/segments.yml", "segments:\n  - id: 1\n    name: US\n    filters: {countries: [US], countries: [DE]}\n", 4, "countries"),
    ("project.yml", None, None, "vars"),
], ids=["segment", "flow-mapping", "project.yml"])
def test_a_key_written_twice_is_refused(root, config, text, line, key):
    """YAML itself would keep the last value silently: a second `filters:` dropping the first
    changes which leads a segment holds, so it is one line naming the file, line and key."""
    path = root / config
    if text is None:
        original = path.read_text()
        text = original + "vars:\n  days: 7\n"
        line = text.splitlines().index("vars:", original.splitlines().index("vars:") + 1) + 1
    error = refused_run(root, path, text)
    assert error.startswith(f"Error: {path}:{line}: ") and f"the key '{key}' is written twice" in error


@pytest.mark.parametrize("text, line, message", [
    ("    filters:\n      countries: {a: 1}", 5, "segment 1: filters.countries: expected a string or a list of strings, "
                                               "got {'a': 1}"),
    ("    filters:\n      tags: [[{a: 1}]]", 5, "segment 1: filters.tags: expected a string or a list of strings, "
                                              "got [{'a': 1}]"),
    ("    filters:\n      min_score: {a: 1}", 5, "segment 1: filters.min_score must be a number such as 60 "
                                               "(scores are 0–100), got {'a': 1}"),
    ("    filters:\n      has_email: {a: 1}", 5, "segment 1: filters.has_email must be true or false, got {'a': 1}"),
    ("    workspace_id: {a: 1}", 4, "segment 1: 'workspace_id' must be an integer or omitted, got {'a': 1}"),
], ids=["list-filter", "nested-in-a-list", "min_score", "has_email", "workspace_id"])
def test_a_mapping_where_a_value_belongs_is_shown_as_written(root, text, line, message):
    """The line numbers segpipe keeps of each mapping (`__line__`, `__keys__`) are not the user's: never shown."""
    segments = root / "seeds" / "segments.yml"
    error = refused_run(root, segments, f"segments:\n  - id: 1\n    name: A\n{text}\n")
    assert error == f"Error: {segments}:{line}: {message}\n"


def test_a_key_overridden_after_a_merge_is_not_written_twice():
    """`<<: *base` then `x: 2` overrides a merged key; a mapping that does so and is merged
    elsewhere too is checked as written, not after the merge has added its keys."""
    from segpipe.yaml_files import parse_yaml

    text = "base: &base {x: 1}\na:\n  inner: &m\n    <<: *base\n    x: 2\nb:\n  <<: *m\n"
    assert parse_yaml(text, "f.yml", "a file")["a"]["inner"] == {"x": 2}
    assert parse_yaml(text, "f.yml", "a file", lines=True)["a"]["inner"]["x"] == 2


@pytest.mark.parametrize("config, what", [("seeds/segments.yml", "the segments file"), ("project.yml", "project config")])
@pytest.mark.parametrize("bad, message", [
    (b"Caf\xe9", "{what} is not UTF-8 text (byte 0xe9) — save it as UTF-8"),
    (b"Caf\x00", "invalid YAML in {what}: the character U+0000 is not allowed in YAML — remove it"),
], ids=["latin-1", "nul"])
def test_a_byte_yaml_cannot_read_is_one_line_with_its_line_and_column(root, config, what, bad, message):
    """A Latin-1 export was 'unexpected UnicodeDecodeError' (exit 1); a NUL byte had no line."""
    published = run(root, "run", "--as-of", AS_OF.isoformat())
    assert published.returncode == 0, published.stderr
    db = root / "out.duckdb"
    before = db.read_bytes()
    path = root / config
    path.write_bytes(path.read_bytes() + "# éé ".encode() + bad + b"\n")
    line = path.read_bytes().count(b"\n")
    result = run(root, "run", "--as-of", AS_OF.isoformat())
    assert result.returncode == 2
    assert result.stderr == f"Error: {path}:{line}:9: {message.format(what=what)}\n"
    assert db.read_bytes() == before
