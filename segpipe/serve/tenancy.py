"""Who may see what: the `--tokens` file, bearer tokens, and per-tenant views.

The tokens file is a YAML mapping of each token to the list of workspace ids it
may see, or to the word `all` (SPEC §10). A token limited to workspaces never
sees a global segment (workspace_id null): its figures span every tenant.

Scoping is done once, below every endpoint: a limited token reads through a
catalog of views over the published file that show only the rows of its
workspaces. A published relation with a `segment_id` column keeps the rows of
visible segments; one with a `workspace_id` column keeps those workspaces' rows
(both, when it has both); one with neither but a `lead_id` column keeps the rows
of those workspaces' leads; a set of segments (a `segment_ids` list, or a `set_id`
numbered in internal.segment_sets) is kept when it holds a visible segment, its
list cut to those; run metadata is shown as is; anything else is not there. (In a
loaded source, `src.*`, a `segment_id` is a campaign's target, so there only the
owner's `workspace_id` counts.) So top, the segment pages, the
drill-downs and every analysis are scoped alike, including the "did you mean"
hint of an unknown segment.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from ..contract import RUN_INFO, SEGMENT_LEADS, SEGMENT_SETS, SEGMENTS
from ..errors import ConfigError
from ..sql import quote_ident
from ..yaml_files import read_yaml, without_lines

#: relations without a segment_id or workspace_id column a limited token may still read
UNSCOPED_RELATIONS = {(RUN_INFO.schema, RUN_INFO.name)}


@dataclass(frozen=True)
class Scope:
    """The workspaces one token may see."""

    workspaces: frozenset[int]

    @property
    def catalog(self) -> str:
        """The in-memory catalog holding this scope's views (one per distinct scope)."""
        return "scope_" + "_".join(str(w).replace("-", "m") for w in sorted(self.workspaces))

    def allows(self, workspace_id: int | None) -> bool:
        return workspace_id in self.workspaces

    @property
    def tag(self) -> str:
        return hashlib.sha256(self.catalog.encode()).hexdigest()[:12]


class Tokens:
    """The tokens of a `--tokens` file: token → Scope, or None for `all`."""

    def __init__(self, entries: dict[str, Scope | None]):
        self._entries = [(_digest(token), scope) for token, scope in entries.items()]

    @classmethod
    def load(cls, path: Path) -> "Tokens":
        """Read as every YAML file is (yaml_files.py): a token written twice is refused rather
        than granted the scope of its last line."""
        try:
            document = read_yaml(path, "the tokens file", lines=True, secret_keys=True)
        except ConfigError as exc:
            raise ConfigError(f"--tokens: {exc}") from None
        lines = document.pop("__keys__", {}) if isinstance(document, dict) else {}
        document = without_lines(document)
        if not isinstance(document, dict) or not document:
            raise ConfigError(f"--tokens: {path} must map each token to a list of workspace ids or to 'all', "
                              "e.g. 'sk_team_a: [1]'")
        where = {token: f"{path}:{lines[token]}" if token in lines else str(path) for token in document}
        return cls({_token(where[token], token): _scope(where[token], token, value)
                    for token, value in document.items()})

    def scope_of(self, presented: str) -> tuple[bool, Scope | None]:
        """(known, scope) of a presented token; every token is compared in constant time."""
        given = _digest(presented)
        found, scope = False, None
        for token, token_scope in self._entries:
            if hmac.compare_digest(given, token):
                found, scope = True, token_scope
        return found, scope


def _digest(token: str) -> bytes:
    """Tokens are compared as SHA-256 digests: equal length, so not even a token's length leaks."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


def _token(where: str, token) -> str:
    """`where`: the file and the token's line. A token travels in an `Authorization: Bearer`
    header, which carries printable ASCII only: a token with a space, a tab or an accent could
    never be sent (a browser's fetch refuses it), so the file is refused at start rather than
    that token failing on every request."""
    if token in ("", None):
        raise ConfigError(f"--tokens: {where}: a token must be a non-empty string, got an empty one")
    if not isinstance(token, str):  # YAML read it as a number, a date…: shown as a token is, its start only
        raise ConfigError(f"--tokens: {where}: a token must be a string, but the one beginning {str(token)[:4]!r} "
                          f"reads as {type(token).__name__}: put it in quotes")
    bad = next((i for i, c in enumerate(token) if not "!" <= c <= "~"), None)
    if bad is not None:
        raise ConfigError(f"--tokens: {where}: the token has {_character(token[bad])} at character {bad + 1}, which an "
                          "'Authorization: Bearer' header cannot carry; use printable ASCII only (letters, digits, "
                          "punctuation, no spaces), e.g. 'sk_team_a_5f2c9e'")
    return token


def _character(c: str) -> str:
    """A character a header cannot carry, named without writing it (a newline would split the message)."""
    if c in " \t":
        return "a space" if c == " " else "a tab"
    kind = "a control character" if c < " " or c == "\x7f" else "a non-ASCII character"
    return f"{kind} (U+{ord(c):04X})"


def _scope(path: str, token: str, value) -> Scope | None:
    """`path`: the file and the token's line."""
    if value == "all":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if (not isinstance(value, list) or not value
            or not all(isinstance(w, int) and not isinstance(w, bool) and -2**63 <= w < 2**63 for w in value)):
        raise ConfigError(f"--tokens: {path}: token '{token[:4]}…' must map to a list of workspace ids "
                          f"(integers) or to 'all', got {value!r}")
    return Scope(frozenset(value))


def create_scoped_views(con, published: str, scope: Scope) -> None:
    """An in-memory catalog of views over the `published` catalog showing only `scope`'s rows."""
    catalog = quote_ident(scope.catalog)
    workspaces = ", ".join(str(int(w)) for w in sorted(scope.workspaces))
    visible_segments = (f"SELECT segment_id FROM {quote_ident(published)}.{SEGMENTS} "
                        f"WHERE workspace_id IN ({workspaces})")
    visible_leads = (f"SELECT lead_id FROM {quote_ident(published)}.{SEGMENT_LEADS} "
                     f"WHERE workspace_id IN ({workspaces})")
    holds_visible = f"list_has_any(segment_ids, (SELECT list(segment_id) FROM ({visible_segments})))"
    visible_sets = f"SELECT set_id FROM {quote_ident(published)}.{SEGMENT_SETS} WHERE {holds_visible}"
    columns: dict[tuple[str, str], set[str]] = {}
    for schema, name, column in con.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns WHERE table_catalog = ?",
            [published]).fetchall():
        columns.setdefault((schema, name), set()).add(column)
    con.execute(f"ATTACH ':memory:' AS {catalog}")
    for (schema, name), names in sorted(columns.items()):
        conditions, select = [], "*"
        if "segment_id" in names and schema != "src":  # in a source, segment_id is a campaign's target
            conditions.append(f"segment_id IN ({visible_segments})")
        if "workspace_id" in names:
            conditions.append(f"workspace_id IN ({workspaces})")
        if not conditions and "lead_id" in names:
            conditions.append(f"lead_id IN ({visible_leads})")
        if not conditions and "segment_ids" in names:  # a set of segments: keep only the visible ones
            select = f"* REPLACE (list_intersect(segment_ids, (SELECT list(segment_id) FROM ({visible_segments}))) AS segment_ids)"
            conditions.append(holds_visible)
        if not conditions and "set_id" in names:  # a set by its number
            conditions.append(f"set_id IN ({visible_sets})")
        if not conditions and (schema, name) not in UNSCOPED_RELATIONS:
            continue
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {catalog}.{quote_ident(schema)}")
        con.execute(f"CREATE VIEW {catalog}.{quote_ident(schema)}.{quote_ident(name)} AS SELECT {select} FROM "
                    f"{quote_ident(published)}.{quote_ident(schema)}.{quote_ident(name)}{where}")
