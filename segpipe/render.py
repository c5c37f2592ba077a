"""Render Jinja SQL models with one visible context dict.

Every macro in `macros/` is callable from every model. A model is rendered
twice, as dbt does: the first pass records its `ref()`/`source()` calls and
`config()`, so the DAG and each model's schema are known; the second pass
resolves `ref('x')` to the relation `x` was configured into.

The product hands its own functions to the context (`extra_context`: the
segments and their membership functions); the renderer knows nothing of segments.
Values reach SQL only through `literal()` and such functions, which quote them.
"""

from __future__ import annotations

import contextlib
import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from jinja2 import nodes
from jinja2.visitor import NodeTransformer

from . import target
from .errors import CompileError, first_line
from .overrides import builtin_root, display, is_builtin
from .sql import sql_literal
from .suggest import did_you_mean

MATERIALIZATIONS = ("table", "view", "incremental")
#: recomputes_since: set by macros/incremental.sql's recompute_since() in an incremental run;
#: full_refresh_on_untimed_sends: see Changes.untimed_sends_added
CONFIG_KEYS = ("materialized", "schema", "unique_key", "incremental_predicates", "full_refresh_on", "tags", "batches",
               "recomputes_since", "full_refresh_on_untimed_sends")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
VAR_CALL = re.compile(r"""\bvar\(\s*['"]([^'"]+)['"]""")
DEFAULT_SCHEMA = "main"


@dataclass
class Model:
    """One SQL model: where it lives, what it depends on, and its rendered SQL."""

    name: str
    path: Path
    config: dict = field(default_factory=dict)
    refs: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    sql: str = ""

    @property
    def schema(self) -> str:
        return self.config.get("schema", DEFAULT_SCHEMA)

    @property
    def materialized(self) -> str:
        return self.config.get("materialized", "table")

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.name}"


class _Problem(Exception):
    """Raised inside a template; `render` adds the file and line."""


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates under target/jinja, keyed by their source's checksum (as in
    Jinja), so an unchanged project skips Jinja's compiler: 15 ms of every command
    that renders. A folder that cannot be written only means compiling again."""

    def __init__(self, root: Path):
        self.folder = target.jinja_folder(root)
        super().__init__(str(self.folder))

    def get_source_checksum(self, source: str) -> str:
        # _Environment compiles macro files otherwise than Jinja: not Jinja's code of the same source
        return super().get_source_checksum("segpipe late-bound macros\n" + source)

    def load_bytecode(self, bucket) -> None:
        with contextlib.suppress(OSError):
            super().load_bytecode(bucket)

    def dump_bytecode(self, bucket) -> None:
        with contextlib.suppress(OSError):
            self.folder.mkdir(parents=True, exist_ok=True)
            super().dump_bytecode(bucket)


class _Environment(jinja2.Environment):
    """Jinja's, except that a macro calling a macro of its own file looks it up when it is
    called, as it does one of another file: Jinja binds such a call to the file's own
    definition, so a project macro replacing the built-in `sends_since` was not the one the
    built-in `narrow_sends`, in the same file, called. The context's shared dict holds every
    macro, the project's defined last (overrides.py)."""

    macro_files: frozenset = frozenset()  # the macro files, resolved

    def _parse(self, source, name, filename):
        template = super()._parse(source, name, filename)
        if filename and Path(filename).resolve() in self.macro_files:
            own = {node.name for node in template.body if isinstance(node, nodes.Macro)}
            for macro in template.body:
                if isinstance(macro, nodes.Macro):
                    local = {arg.name for arg in macro.args} | {
                        n.name for n in macro.find_all(nodes.Name) if n.ctx in ("store", "param")}
                    _LateBound(own - local).visit(macro)
        return template


class _LateBound(NodeTransformer):
    """Turns each use of one of `names` into a look-up in the shared context when called."""

    def __init__(self, names: set[str]):
        self.names = names

    def visit_Name(self, node):
        if node.ctx != "load" or node.name not in self.names:
            return node
        shared = nodes.Getattr(nodes.ContextReference(), "parent", "load")
        return nodes.Getitem(shared, nodes.Const(node.name), "load", lineno=node.lineno)


class Renderer:
    """Holds the Jinja environment; renders one model at a time."""

    def __init__(self, root: Path, macro_files, *, variables: dict, source_names,
                 seed_relations: dict, extra_context: dict | None = None, engine: str = "duckdb"):
        self.root = root
        self.engine = engine
        self.builtin_root = builtin_root()
        folders = {"builtin": self.builtin_root, "project": root}  # templates are named `builtin/…` or `project/…`
        self.env = _Environment(
            loader=jinja2.PrefixLoader({prefix: jinja2.FileSystemLoader(str(folder)) for prefix, folder in folders.items()}),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
            bytecode_cache=_BytecodeCache(root),
        )
        self.variables = variables
        self.source_names = set(source_names)
        self.seed_relations = seed_relations
        self.extra_context = dict(extra_context or {})
        self.macro_files = list(macro_files)
        self._macro_texts: dict[Path, str] | None = None
        self.env.macro_files = frozenset(path.resolve() for path in self.macro_files)
        self.macro_templates = [self._template(path) for path in self.macro_files]
        self.vars_read: set[str] = set()  # var() names called while rendering

    def _template(self, path: Path) -> jinja2.Template:
        resolved = path.resolve()
        name = (f"builtin/{resolved.relative_to(self.builtin_root).as_posix()}" if is_builtin(resolved)
                else f"project/{resolved.relative_to(self.root).as_posix()}")
        try:
            return self.env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise CompileError(f"{_rel(self.root, path)}:{exc.lineno}: Jinja syntax error: {exc.message}") from None
        except UnicodeDecodeError as exc:  # Latin-1 or Windows-1252 bytes, say
            line = exc.object[:exc.start].count(b"\n") + 1
            raise CompileError(f"{_rel(self.root, path)}:{line}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x}) — "
                               "save it as UTF-8") from None

    def macro_texts(self) -> dict[Path, str]:
        """Each macro file's text (read once per run: the run warnings, `ls` and the
        incremental models' definitions all look at them)."""
        if self._macro_texts is None:
            self._macro_texts = {}
            for path in self.macro_files:
                with contextlib.suppress(OSError):
                    self._macro_texts[path] = Path(path).read_text(encoding="utf-8", errors="replace")
        return self._macro_texts

    def render(self, model: Model, relations: dict[str, str], incremental: bool = False, run_query=None,
               batch: dict | None = None) -> None:
        """Render `model` in place, `ref(name)` becoming `relations[name]`. `run_query`
        (sql -> list of row tuples) is given when rendering against the build database;
        `batch` ({'start', 'end'} SQL literals) when building it a slice at a time."""
        model.refs, model.sources, model.config = [], [], {}
        template = self._template(model.path)
        context = self._context(model, relations, incremental, run_query, batch)
        try:
            model.sql = template.render(context)
        except CompileError:
            raise
        except (_Problem, jinja2.UndefinedError, jinja2.TemplateError, TypeError, ValueError, ArithmeticError,
                LookupError, AttributeError) as exc:  # {{ 1/0 }}, {{ x[9] }}: the template's own mistakes
            raise CompileError(f"{self._where(exc, model)}: {exc}") from None
        except RecursionError:
            raise CompileError(f"{_rel(self.root, model.path)}: rendering recursed too deep — a macro that calls "
                               "itself without end?") from None

    def _where(self, exc: Exception, model: Model) -> str:
        """`file:line` of the innermost template frame the error came from."""
        template_files = {str(p) for p in (model.path, *[Path(t.filename) for t in self.macro_templates])}
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in template_files]
        if isinstance(exc, jinja2.TemplateSyntaxError) and exc.lineno:
            return f"{_rel(self.root, exc.filename or model.path)}:{exc.lineno}"
        if frames:
            return f"{_rel(self.root, frames[-1].filename)}:{frames[-1].lineno}"
        return _rel(self.root, model.path)

    def _context(self, model: Model, relations, incremental: bool, run_query=None, batch=None) -> dict:
        """The whole template namespace, in one place: what a model can call."""

        def query(sql: str) -> list[tuple]:
            """dbt's run_query, returning row tuples: for values an incremental model needs
            as constants (a literal lets DuckDB skip Parquet row groups; a subquery does not)."""
            if run_query is None:
                raise _Problem("run_query() needs the build database — call it only inside {% if is_incremental() %}")
            try:
                return run_query(sql)
            except Exception as exc:  # a DuckDB error: say which model asked
                raise _Problem(f"run_query() failed: {first_line(exc)}") from None

        def ref(name: str) -> str:
            if name in self.seed_relations:
                if name not in model.refs:
                    model.refs.append(name)
                return self.seed_relations[name]
            if name not in relations:
                raise _Problem(f"ref('{name}') not found{did_you_mean(name, [*relations, *self.seed_relations])}")
            if name == model.name:
                raise _Problem(f"model '{name}' refers to itself — use `this`")
            if name not in model.refs:
                model.refs.append(name)
            return relations[name]

        def source(name: str) -> str:
            if name not in self.source_names:
                raise _Problem(f"source('{name}') not found{did_you_mean(name, self.source_names)} — declare it under 'sources' in project.yml or add seeds/{name}.csv")
            if name not in model.sources:
                model.sources.append(name)
            return f"src.{name}"

        def var(name: str, default=_MISSING):
            self.vars_read.add(name)
            if name in self.variables:
                return self.variables[name]
            if default is _MISSING:
                raise _Problem(f"undefined var '{name}'{did_you_mean(name, self.variables)} — set it under 'vars' in project.yml or pass --vars")
            return default

        def config(**options) -> str:
            for key, value in options.items():
                if key not in CONFIG_KEYS:
                    raise _Problem(f"config(): unknown option '{key}'{did_you_mean(key, CONFIG_KEYS)}")
            if options.get("materialized", "table") not in MATERIALIZATIONS:
                raise _Problem(f"config(): materialized must be one of {', '.join(MATERIALIZATIONS)}")
            if "schema" in options and not IDENTIFIER.match(str(options["schema"])):
                raise _Problem(f"config(): schema '{options['schema']}' is not a plain identifier")
            model.config.update(options)
            return ""

        context = {
            "ref": ref,
            "source": source,
            "source_exists": lambda name: name in self.source_names,
            "var": var,
            "config": config,
            "this": relations[model.name],
            "is_incremental": lambda: incremental,
            "batch": batch,
            "run_query": query,
            "literal": sql_literal,
            "target": {"type": self.engine, "name": self.engine},
            **self.extra_context,
        }
        context["adapter"] = _Adapter(self.engine, context)
        for template in self.macro_templates:
            module = template.make_module(context, shared=True)
            context.update({name: getattr(module, name) for name in dir(module) if not name.startswith("_")})
        return context


_MISSING = object()


class _Adapter:
    """dbt's `adapter.dispatch(name)`: the macro `<engine>__name` when the project or a
    package defines one, else `default__name` — SQL that differs between DuckDB and
    Spark lives in such pairs, everything else is written once."""

    def __init__(self, engine: str, context: dict):
        self.engine, self.context = engine, context

    def dispatch(self, name: str, macro_namespace=None):
        for prefix in (self.engine, "default"):
            macro = self.context.get(f"{prefix}__{name}")
            if macro is not None:
                return macro
        raise _Problem(f"adapter.dispatch('{name}'): define a macro {self.engine}__{name} or default__{name}")


def _rel(root: Path, path) -> str:
    return display(root, path)


def unread_vars(renderer: Renderer, models: dict[str, Model], names) -> list[tuple[str, str]]:
    """(name, ' (did you mean …?)') for each of `names` that no model or macro reads: not
    called while rendering, nor named in a var('…') of a branch not rendered this time
    (say, one read only by an incremental run). A typo such as `attribtion` is otherwise
    silently ignored."""
    read = set(renderer.vars_read)
    for path in [*renderer.macro_files, *(m.path for m in models.values())]:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            read.update(VAR_CALL.findall(Path(path).read_text(encoding="utf-8")))
    return [(name, did_you_mean(name, read)) for name in names if name not in read]


MACRO_DEFINITION = re.compile(r"{%-?\s*macro\s+([A-Za-z_][A-Za-z0-9_]*)")


def misnamed_macros(renderer: Renderer, models: dict[str, Model]) -> list[tuple[str, str, str]]:
    """(name, file, built-in name) of each project macro that nothing calls and whose name is
    close to a built-in macro's: `rates` meant to replace `rate` would otherwise change nothing."""
    import difflib

    texts = dict(renderer.macro_texts())
    for path in (m.path for m in models.values()):
        with contextlib.suppress(OSError, UnicodeDecodeError):
            texts[path] = Path(path).read_text(encoding="utf-8")
    built_in = {name for path, text in texts.items() if path in renderer.macro_files and is_builtin(path)
                for name in MACRO_DEFINITION.findall(text)}
    found = []
    for path in renderer.macro_files:
        if is_builtin(path):
            continue
        for name in MACRO_DEFINITION.findall(texts.get(path, "")):
            word = re.compile(rf"\b{name}\b")
            uses = sum(len(word.findall(text)) for text in texts.values())
            close = difflib.get_close_matches(name, sorted(built_in), n=1, cutoff=0.75)
            if name not in built_in and uses <= 1 and close:  # the definition is the one use
                found.append((name, _rel(renderer.root, path), close[0]))
    return found


#: built-in macros whose replacement segment filters do not follow: segpipe normalises filter
#: values itself (segments.match_key, in Python) to compare with what these make of the leads'
FILTER_KEY_MACROS = ("match_key", "tag_keys")


def replaced_filter_key_macros(renderer: Renderer) -> list[tuple[str, str]]:
    """(name, file:line) of each project macro replacing match_key() or tag_keys() with another
    definition (a copy of the built-in one, as a project copied from the repository holds, is
    none): the leads' values are then normalised its way, the filters' segpipe's way."""
    def definitions(text: str) -> dict[str, tuple[int, list[str]]]:
        starts = [(m.start(), m.group(1)) for m in MACRO_DEFINITION.finditer(text)] + [(len(text), "")]
        return {name: (start, text[start:end].split("endmacro")[0].split())
                for (start, name), (end, _) in zip(starts, starts[1:]) if name in FILTER_KEY_MACROS}

    texts = renderer.macro_texts()
    built_in = {name: body for path, text in texts.items() if is_builtin(path)
                for name, (_, body) in definitions(text).items()}
    return [(name, f"{_rel(renderer.root, path)}:{text.count(chr(10), 0, start) + 1}")
            for path, text in texts.items() if not is_builtin(path)
            for name, (start, body) in definitions(text).items() if body != built_in.get(name)]


def discover_models(root: Path, model_files) -> dict[str, Model]:
    """One Model per `models/**/*.sql`; names must be unique identifiers."""
    models: dict[str, Model] = {}
    for path in model_files:
        name = path.stem
        where = _rel(root, path)
        if not IDENTIFIER.match(name):
            raise CompileError(f"{where}: model name '{name}' must be a plain identifier (letters, digits, _)")
        if name in models:
            raise CompileError(f"{where}: model name '{name}' is also used by {_rel(root, models[name].path)} — model names must be unique")
        models[name] = Model(name=name, path=path)
    return models


def compile_models(renderer: Renderer, models: dict[str, Model]) -> None:
    """Both passes over every model: record dependencies and config, then resolve refs."""
    placeholders = {name: f"__ref__{name}" for name in models}  # schemas are known only after pass 1
    for model in models.values():
        renderer.render(model, placeholders)
    relations = {name: m.relation for name, m in models.items()}
    for model in models.values():
        renderer.render(model, relations)
