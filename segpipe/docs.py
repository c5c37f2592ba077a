"""Model docs and data tests declared in `models/*.yml` (dbt's schema-file format).

```yaml
models:
  - name: segment_performance
    description: One row per segment …
    tests:                                    # model-level
      - unique_combination_of_columns: {combination_of_columns: [segment_id, day]}
      - expression_is_true: {expression: "opened <= leads_sent"}
    columns:
      - name: segment_id
        description: …                        # becomes the DuckDB column comment
        tests: [not_null, unique]             # also accepted under `data_tests`
      - name: attribution
        tests:
          - accepted_values: {values: [matching, campaign]}
          - relationships: {to: ref('segments'), field: segment_id, config: {severity: warn}}
```

A test's `config` takes `severity` (error or warn) and, as in dbt, `where`: a
SQL condition on the model's rows; only the rows it keeps are tested. It also
lets DuckDB skip data: a condition on a column read straight from Parquet is
checked in the scan, before any join.

A test is a query returning the failing rows; none returned means it passed.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError
from .project import SQL_TYPE
from .yaml_files import read_yaml
from .sql import sql_literal
from .suggest import check_keys
from .wording import plural

COLUMN_TESTS = ("not_null", "unique", "accepted_values", "relationships", "at_least_one")
MODEL_TESTS = ("unique_combination_of_columns", "expression_is_true")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
REF = re.compile(r"""^\s*(ref|source)\(\s*['"]([A-Za-z0-9_]+)['"]\s*\)\s*$""")


@dataclass
class ModelDoc:
    name: str
    file: str
    description: str | None = None
    columns: dict[str, str | None] = field(default_factory=dict)
    tests: list["DataTest"] = field(default_factory=list)
    #: column → declared `data_type` (a SQL type name): the type the published column
    #: gets when an engine without it (Spark has no JSON) built the model
    data_types: dict[str, str] = field(default_factory=dict)


@dataclass
class DataTest:
    name: str
    model: str
    kind: str
    column: str | None
    args: dict
    severity: str = "error"
    file: str = ""
    where: str | None = None

    def sql(self, relation: str, resolve) -> str:
        """The query selecting this test's failing rows from `relation`."""
        col = f'"{self.column}"' if self.column else None
        if self.where:
            relation = f"(SELECT * FROM {relation} WHERE {self.where})"
        if self.kind == "not_null":
            return f"SELECT * FROM {relation} WHERE {col} IS NULL"
        if self.kind == "unique":
            return f"SELECT {col}, count(*) AS n FROM {relation} WHERE {col} IS NOT NULL GROUP BY {col} HAVING count(*) > 1"
        if self.kind == "accepted_values":
            values = ", ".join(sql_literal(str(v)) for v in self.args["values"])
            return f"SELECT * FROM {relation} WHERE {col} IS NOT NULL AND CAST({col} AS VARCHAR) NOT IN ({values})"
        if self.kind == "relationships":
            parent = resolve(self.args["to"], self)
            field_ = f'"{self.args["field"]}"'
            return (f"SELECT child.* FROM {relation} AS child WHERE child.{col} IS NOT NULL "
                    f"AND NOT EXISTS (SELECT 1 FROM {parent} AS parent WHERE parent.{field_} = child.{col})")
        if self.kind == "at_least_one":  # dbt_utils': one row (the count) when no row has a value
            return f"SELECT count({col}) AS n FROM {relation} HAVING count({col}) = 0"
        if self.kind == "unique_combination_of_columns":
            cols = ", ".join(f'"{c}"' for c in self.args["combination_of_columns"])
            return f"SELECT {cols}, count(*) AS n FROM {relation} GROUP BY {cols} HAVING count(*) > 1"
        return f"SELECT * FROM {relation} WHERE NOT coalesce(({self.args['expression']}), false)"


    def failure(self, count: int, sample: list[str]) -> tuple[str, str]:
        """What a failing run prints: (the count, a sample row with its column names)."""
        if self.kind == "at_least_one":
            return f"{self.model} has no row with a {self.column}", ""
        return plural(count, "failing row"), sample[0]

    def shown_columns(self, names: list[str]) -> list[str]:
        """The columns of a failing row worth showing: the relation's leading ids (its key)
        and the columns the test names; a test that selects its own columns shows them all."""
        if self.kind in ("unique", "unique_combination_of_columns"):
            return names
        named = {self.column, *self.args.get("combination_of_columns", ()),
                 *IDENTIFIER.findall(str(self.args.get("expression", "")))}
        leading_ids = []
        for name in names:
            if not (name == "id" or name.endswith("_id")):
                break
            leading_ids.append(name)
        return [n for n in names if n in named or n in leading_ids] or names


def sample_text(names: list[str], row: tuple) -> str:
    """`send_id=16, lead_id=77777, tags='a,b'`: a failing row people can read."""
    def shown(value):
        return "NULL" if value is None else repr(value) if isinstance(value, (str, list)) else str(value)

    return ", ".join(f"{name}={shown(value)}" for name, value in zip(names, row))


def load_docs(root: Path, files, cache_of=lambda path: None) -> dict[str, ModelDoc]:
    """The docs and tests of every schema file; `cache_of(path)` names where its parse
    may be cached (see parse_cache.py)."""
    docs: dict[str, ModelDoc] = {}
    for path in files:
        where = str(Path(path).relative_to(root))
        content = read_yaml(path, "model docs", cache=cache_of(path)) or {}
        try:
            _load_doc_file(content, where, docs)
        except ConfigError as exc:
            raise _at_line(exc, path, where) from None
    return docs


def _load_doc_file(content, where: str, docs: dict[str, ModelDoc]) -> None:
    if not isinstance(content, dict):
        raise ConfigError(f"{where}: expected a mapping with a 'models:' list")
    check_keys(content, {"version", "models"}, where, ConfigError)
    for entry in content.get("models") or []:
        doc = _model_doc(entry, where)
        if doc.name in docs:
            raise ConfigError(f"{where}: model '{doc.name}' is documented twice (also in {docs[doc.name].file})")
        docs[doc.name] = doc


#: what a message names: `model NAME`, `, column NAME`, then a quoted key such as `unknown key 'x'`
NAMED = re.compile(r"^(?:model (?P<model>[^,:]+))?(?:, column (?P<column>[^:]+))?")


def _at_line(exc: ConfigError, path: Path, where: str) -> ConfigError:
    """The error at `file:LINE:`, LINE being that of the entry or key it names: the model's
    entry, its column's, and the first quoted key found in there (SPEC §12). Only on the
    error path, so the file is parsed again, this time with lines."""
    message = str(exc)
    if not message.startswith(f"{where}: "):
        return exc
    rest = message[len(where) + 2:]
    try:
        node = read_yaml(path, "model docs", lines=True)
    except ConfigError:
        return exc
    named = NAMED.match(rest)
    line = None
    for key, value in (("models", named["model"]), ("columns", named["column"])):
        if value is None or not isinstance(node, dict):
            break
        node = next((item for item in node.get(key) or [] if isinstance(item, dict) and item.get("name") == value), None)
        line = node["__line__"] if node else line
    for word in re.findall(r"[A-Za-z_][\w]*", rest[named.end():]):  # `accepted_values: severity …`, `'x'`
        found = _find_key(node, word)
        if found:
            line, node = found
    if line is None:
        return exc
    return ConfigError(f"{where}:{line}: {rest}")


def _find_key(node, key: str) -> tuple[int, object] | None:
    """(line, value) of the first `key` in a parse with lines, depth first."""
    if isinstance(node, dict):
        if key in node.get("__keys__", {}):
            return node["__keys__"][key], node[key]
        children = [v for k, v in node.items() if k not in ("__line__", "__keys__")]
    elif isinstance(node, list):
        if key in node and hasattr(node, "lines"):  # a plain item, `- uniqe`
            return node.lines[node.index(key)], key
        children = node
    else:
        return None
    return next((found for child in children if (found := _find_key(child, key))), None)


def _model_doc(entry, where: str) -> ModelDoc:
    if not isinstance(entry, dict) or not entry.get("name"):
        raise ConfigError(f"{where}: each entry under 'models' needs a 'name'")
    name = entry["name"]
    check_keys(entry, {"name", "description", "columns", "tests", "data_tests", "config"}, f"{where}: model {name}", ConfigError)
    doc = ModelDoc(name=name, file=where, description=entry.get("description"))
    for spec in entry.get("tests") or entry.get("data_tests") or []:
        doc.tests.append(_test(spec, name, None, f"{where}: model {name}", MODEL_TESTS))
    for column in entry.get("columns") or []:
        if not isinstance(column, dict) or not column.get("name"):
            raise ConfigError(f"{where}: model {name}: each column needs a 'name'")
        cwhere = f"{where}: model {name}, column {column['name']}"
        check_keys(column, {"name", "description", "tests", "data_tests", "data_type"}, cwhere, ConfigError)
        doc.columns[column["name"]] = column.get("description")
        if column.get("data_type") is not None:
            if not (isinstance(column["data_type"], str) and SQL_TYPE.match(column["data_type"].strip())):
                raise ConfigError(f"{cwhere}: data_type {column['data_type']!r} is not a type name such as BIGINT or JSON")
            doc.data_types[column["name"]] = column["data_type"].strip()
        for spec in column.get("tests") or column.get("data_tests") or []:
            doc.tests.append(_test(spec, name, column["name"], cwhere, COLUMN_TESTS))
    for test in doc.tests:
        test.file = where
    return doc


def _test(spec, model: str, column: str | None, where: str, kinds) -> DataTest:
    kind, args = (spec, {}) if isinstance(spec, str) else next(iter(spec.items())) if isinstance(spec, dict) and len(spec) == 1 else (None, None)
    if kind is None:
        raise ConfigError(f"{where}: a test is a name or a one-key mapping such as {{accepted_values: {{values: [a, b]}}}}")
    args = dict(args or {})
    check_keys({kind: 1}, kinds, where, ConfigError)
    name = args.pop("name", None)  # as in dbt: a test's own name, shown in the run's output
    if name is not None and not (isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9_]+", name)):
        raise ConfigError(f"{where}: {kind}: name must be letters, digits and _, such as sends_to_unknown_leads")
    config = args.pop("config", None) or {}
    if not isinstance(config, dict):
        raise ConfigError(f"{where}: {kind}: config must be a mapping such as {{severity: warn}}")
    check_keys(config, {"severity", "where"}, f"{where}: {kind}: config", ConfigError)
    severity = config.get("severity", "error")
    if severity not in ("error", "warn"):
        raise ConfigError(f"{where}: {kind}: severity must be error or warn")
    if "where" in config and not (isinstance(config["where"], str) and config["where"].strip()):
        raise ConfigError(f"{where}: {kind}: config.where must be a SQL condition such as \"day >= '2025-01-01'\"")
    required = {"accepted_values": "values", "relationships": "field", "expression_is_true": "expression",
                "unique_combination_of_columns": "combination_of_columns"}.get(kind)
    if required and required not in args:
        raise ConfigError(f"{where}: {kind} needs '{required}'")
    if kind == "relationships" and not REF.match(str(args.get("to", ""))):
        raise ConfigError(f"{where}: relationships needs to: ref('model') or source('name')")
    suffix = f"{model}_{column}" if column else f"{model}"
    return DataTest(name=name or f"{kind}_{suffix}", model=model, kind=kind, column=column, args=args, severity=severity,
                    where=config.get("where"))


def run_tests(con, tests, relation_of, resolve, sample_size: int = 3):
    """Run each test; yield (test, failing row count, sample rows as text, seconds)."""
    for test in tests:
        started = time.perf_counter()
        sql = test.sql(relation_of(test.model), resolve)
        count = con.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0]
        sample = []
        if count:
            # ordered, so a rerun (and the README) shows the same rows: a top-N, not a sort
            cursor = con.execute(f"SELECT * FROM ({sql}) ORDER BY ALL LIMIT {sample_size}")
            names = [d[0] for d in cursor.description]
            shown = test.shown_columns(names)
            sample = [sample_text(shown, [row[names.index(n)] for n in shown]) for row in cursor.fetchall()]
        yield test, count, sample, time.perf_counter() - started


def apply_comments(con, doc: ModelDoc, relation: str) -> None:
    """Model and column descriptions become DuckDB comments, which BI tools show."""
    if doc.description:
        con.execute(f"COMMENT ON TABLE {relation} IS {sql_literal(doc.description.strip())}")
    existing = {row[0] for row in con.execute(f"DESCRIBE {relation}").fetchall()}
    for column, description in doc.columns.items():
        if column not in existing:
            raise ConfigError(f"{doc.file}: model {doc.name} documents column '{column}', which it does not have")
        if description:
            con.execute(f"COMMENT ON COLUMN {relation}.\"{column}\" IS {sql_literal(description.strip())}")
