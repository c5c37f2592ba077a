"""Reading YAML files safely: one-line errors with the file and line, the line of every
key (for messages about it), and no "alias bomb".

project.yml, segments files, models/*.yml and --vars are all read here. A parse
may be cached (parse_cache.py); PyYAML is imported only when something is parsed.
"""

from __future__ import annotations

import functools
from pathlib import Path

from .errors import ConfigError
from .parse_cache import cached_parse


def read_yaml(path: Path, what: str, cache: Path | None = None, lines: bool = False, secret_keys: bool = False):
    """Parse a YAML file, turning syntax errors into one line with the file and line.

    With `cache`, the parse stored there is reused while the file's text is
    unchanged (see parse_cache.py). With `lines` and `secret_keys`, see `yaml_loader`.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:  # Latin-1 or Windows-1252 bytes, say
        place = position(exc.object.decode("utf-8", "replace"), len(exc.object[:exc.start].decode("utf-8", "replace")))
        raise ConfigError(f"{path}:{place}: {what} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x}) — save it "
                          "as UTF-8") from None
    if cache is not None:
        if lines:  # a parse with line numbers is another value than one without
            cache = cache.with_suffix(".lines.json")
        return cached_parse(text, cache, lambda source: parse_yaml(source, path, what, lines, secret_keys))
    return parse_yaml(text, path, what, lines, secret_keys)


@functools.cache
def yaml_loader(lines: bool = False, secret_keys: bool = False):
    """libyaml's safe loader when PyYAML has it (3x faster than the pure-Python one), refusing
    a key written twice in one mapping, which PyYAML would let the last one win silently (a
    second `filters:` would drop the first). With `lines`, each mapping also gets `__line__`,
    its own line, and `__keys__`, the line of each of its text keys, and each list is a
    LinedList with its items' lines, so a message names the line at fault. With `secret_keys` (a --tokens file) a message shows a key's first
    characters only."""
    import yaml  # about 17 ms, so only when there is something to parse

    class UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        def flatten_mapping(self, node):
            # each mapping's keys as written, so before a merge (`<<`) adds its keys to them (a
            # mapping merged elsewhere is flattened there first), and once
            checked = self.__dict__.setdefault("_checked", set())
            if id(node) not in checked:
                checked.add(id(node))
                _refuse_repeated_keys(node, secret_keys)
            super().flatten_mapping(node)

    if not lines:
        return UniqueKeyLoader

    class LineLoader(UniqueKeyLoader):
        def construct_mapping(self, node, deep=False):
            for key, _ in node.value:  # a key the user wrote with a bookkeeping key's name would be lost
                if key.id == "scalar" and key.value in LINE_KEYS:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"'{key.value}' is no key segpipe reads (the name is reserved); remove it",
                        key.start_mark)
            mapping = super().construct_mapping(node, deep=deep)
            mapping["__line__"] = node.start_mark.line + 1
            mapping["__keys__"] = {key.value: key.start_mark.line + 1 for key, _ in node.value
                                   if key.id == "scalar" and key.tag == "tag:yaml.org,2002:str"}
            return mapping

    def construct_lined_list(loader, node):
        items = LinedList()
        items.lines = [item.start_mark.line + 1 for item in node.value]
        yield items
        items.extend(loader.construct_sequence(node))

    LineLoader.add_constructor("tag:yaml.org,2002:seq", construct_lined_list)
    return LineLoader


class LinedList(list):
    """A list from a parse with lines, with `lines`: each item's line (a plain `- uniqe` test
    has no mapping to carry one)."""

    lines: list[int]


#: the keys a parse with lines adds to each mapping (see `yaml_loader`)
LINE_KEYS = ("__line__", "__keys__")


def without_lines(value):
    """`value` as the user wrote it, without the keys a parse with lines adds: for messages."""
    if isinstance(value, dict):
        return {key: without_lines(item) for key, item in value.items() if key not in LINE_KEYS}
    if isinstance(value, list):
        return [without_lines(item) for item in value]
    return value


def _refuse_repeated_keys(node, secret: bool) -> None:
    """A mapping's own scalar keys, each once (keys merged in with `<<` may be overridden)."""
    import yaml

    first_lines: dict = {}
    for key, _ in node.value:
        if key.id != "scalar" or key.tag == "tag:yaml.org,2002:merge":
            continue
        if (key.tag, key.value) in first_lines:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key '{key.value[:4] + '…' if secret else key.value}' is written twice (first on line "
                f"{first_lines[key.tag, key.value]}); keep one of them", key.start_mark)
        first_lines[key.tag, key.value] = key.start_mark.line + 1


def position(text: str, index: int) -> str:
    """'line:column' (both 1-based) of the character at `index` of `text`."""
    line_start = text.rfind("\n", 0, index) + 1
    return f"{text.count(chr(10), 0, index) + 1}:{index - line_start + 1}"


def parse_yaml(text: str, path: Path, what: str, lines: bool = False, secret_keys: bool = False):
    import yaml

    try:
        return load_yaml(text, str(path), what, lines, secret_keys)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if isinstance(exc, yaml.reader.ReaderError):  # a character YAML refuses, such as NUL: no mark
            index = exc.position  # libyaml's counts UTF-8 bytes, PyYAML's characters
            if hasattr(yaml, "CSafeLoader"):
                index = len(text.encode()[:index].decode("utf-8", "ignore"))
            where = f"{path}:{position(text, index)}"
            code = exc.character if isinstance(exc.character, int) else ord(exc.character)
            problem = f"the character U+{code:04X} is not allowed in YAML — remove it"
        raise ConfigError(f"{where}: invalid YAML in {what}: {problem}") from None


#: how many values YAML aliases (`*name`) may add to a document beyond its own text's
#: length: a few kilobytes of nested aliases ("billion laughs") would otherwise
#: expand to gigabytes wherever the value is copied or written out (the parse cache)
ALIAS_ALLOWANCE = 100_000


def load_yaml(text: str, where: str, what: str, lines: bool = False, secret_keys: bool = False):
    """yaml.load(text) after checking that aliases do not expand the document past
    len(text) + ALIAS_ALLOWANCE values (ConfigError naming the line). Aliases are
    shared by the parser, so the check walks each node once: microseconds for a bomb."""
    loader = yaml_loader(lines, secret_keys)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if "&" in text and "*" in text:  # no anchor and alias, no expansion: skip the walk (~40% of a parse)
            _check_aliases(node, len(text) + ALIAS_ALLOWANCE, where, what)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_aliases(root, limit: int, where: str, what: str) -> None:
    """Count the values the document stands for, each alias counted in full, depth first
    without recursion; stop at the first node past `limit` or an alias inside itself."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        children = [v for pair in node.value for v in pair] if node.id == "mapping" else (
            node.value if node.id == "sequence" else [])
        if finished:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[key] > limit:
                raise ConfigError(f"{where}:{node.start_mark.line + 1}: YAML aliases (*name) in {what} expand to more "
                                  f"than {limit:,} values — write the values out instead of nesting aliases")
            continue
        if key in sizes:
            continue
        on_path.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                raise ConfigError(f"{where}:{child.start_mark.line + 1}: a YAML alias in {what} refers to the list or "
                                  "mapping it is in — such a value never ends; write the values out")
            if id(child) not in sizes:
                stack.append((child, False))


def parse_vars(text: str | None) -> dict:
    """--vars takes a YAML or JSON mapping, as dbt's does (for `segpipe run` and `compile`)."""
    if not text:
        return {}
    import yaml

    try:
        value = load_yaml(text, "--vars", "--vars")
    except yaml.YAMLError:
        value = None
    if not isinstance(value, dict):
        raise ConfigError(f"--vars must be a YAML or JSON mapping such as '{{days: 7, attribution: campaign}}', got {text!r}")
    return value
