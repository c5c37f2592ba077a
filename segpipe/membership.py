"""Segment membership as bitmasks: one pass over the leads, no per-segment predicate.

Testing 200 segments' predicates on every lead costs 200 predicate evaluations
per lead. Instead, segments are numbered into 64-bit words, and for each filter
key we precompute, per attribute value, the mask of segments that accept it
(a segment without that filter accepts every value). A lead's mask is then the
AND of a handful of lookups — its source's mask, its country's mask, its tags'
masks OR-ed together, its score bucket's mask, … — about ten operations per
word whatever the number of segments.

Masks are turned into segment id lists word by word, once per distinct value
of each word (on the benchmark's 1M leads and 200 segments: 9k, 14k, 8k and 64
values, where whole masks have 330k), and a lead's list is its words' lists
one after the other.

Every value here is a number generated from validated segments; filter values
themselves only appear, quoted, in the `encode` macro's vocabulary lists.
"""

from __future__ import annotations

from .segments import LIST_FILTERS, Segment, segment_predicate

WORD_BITS = 64


def words(segments: list[Segment]) -> list[list[Segment]]:
    """Segments in chunks of 64: segment i of a chunk is bit i of that word."""
    ordered = sorted(segments, key=lambda s: s.id)
    return [ordered[i:i + WORD_BITS] for i in range(0, len(ordered), WORD_BITS)] or [[]]


def mask_columns(segments: list[Segment]) -> list[str]:
    return [f"mask_{k}" for k in range(len(words(segments)))]


def _mask(word: list[Segment], accepts) -> str:
    return f"{sum(1 << bit for bit, s in enumerate(word) if accepts(s))}::UBIGINT"


def _value_masks(word: list[Segment], key: str, vocabulary: list[str], base: int) -> list[str]:
    """Per vocabulary value, `base` OR the bits of the segments whose `key` filter lists
    it: one pass over the filters, not one per value (200 segments, 1,600 masks)."""
    masks = dict.fromkeys(vocabulary, base)
    for bit, segment in enumerate(word):
        for value in segment.filters.get(key) or ():
            if value in masks:
                masks[value] |= 1 << bit
    return [f"{masks[value]}::UBIGINT" for value in vocabulary]


def _lookup(word, key: str, column: str, vocabulary: list[str]) -> str:
    """Mask by the lead's encoded value: code 0 (mentioned by no filter) first. A
    segment without this filter accepts every value."""
    unfiltered = sum(1 << bit for bit, s in enumerate(word) if not s.filters.get(key))
    masks = [f"{unfiltered}::UBIGINT", *_value_masks(word, key, vocabulary, unfiltered)]
    return f"[{', '.join(masks)}][{column} + 1]"


def _tags(word, vocabulary: list[str]) -> str:
    untagged = _mask(word, lambda s: not s.filters.get("tags"))
    per_tag = ", ".join(_value_masks(word, "tags", vocabulary, 0))
    if not per_tag:
        return untagged
    return f"({untagged} | list_reduce(list_transform(tag_codes, t -> [{per_tag}][t]), (a, b) -> a | b, 0::UBIGINT))"


def tag_masks(segments: list[Segment], vocabulary: dict) -> str:
    """SELECT-list of `tags_k` columns over distinct tag sets, encoded as `tag_codes`
    (see the `encode_tags` macro): the segments each set satisfies. Leads share far
    fewer tag sets than there are leads, so the per-tag lambdas run once per set
    instead of once per lead and word."""
    return ",\n    ".join(f"{_tags(word, vocabulary['tags'])} AS tags_{k}" for k, word in enumerate(words(segments)))


def _score(word, segments) -> str:
    """CASE over the distinct min_score thresholds, highest first."""
    unscored = _mask(word, lambda s: s.filters.get("min_score") is None)
    thresholds = sorted({s.filters["min_score"] for s in segments if s.filters.get("min_score") is not None}, reverse=True)
    if not thresholds:
        return unscored
    branches = " ".join(
        f"WHEN score >= {t!r} THEN {_mask(word, lambda s, t=t: s.filters.get('min_score') is None or s.filters['min_score'] <= t)}"
        for t in thresholds)
    return f"CASE {branches} ELSE {unscored} END"


def _email(word) -> str:
    with_email = _mask(word, lambda s: s.filters.get("has_email") in (None, True))
    without = _mask(word, lambda s: s.filters.get("has_email") in (None, False))
    return f"CASE WHEN has_email THEN {with_email} ELSE {without} END"


def _workspace(word, segments) -> str:
    global_only = _mask(word, lambda s: s.workspace_id is None)
    workspace_ids = sorted({s.workspace_id for s in segments if s.workspace_id is not None})
    if not workspace_ids:
        return global_only
    branches = " ".join(f"WHEN {w} THEN {_mask(word, lambda s, w=w: s.workspace_id in (None, w))}" for w in workspace_ids)
    return f"CASE workspace_id {branches} ELSE {global_only} END"


def segment_masks(segments: list[Segment], vocabulary: dict) -> str:
    """SELECT-list of `mask_k` columns over encoded leads joined to their `tag_masks`."""
    columns = []
    for k, word in enumerate(words(segments)):
        parts = [_lookup(word, key, column, vocabulary[key]) for key, column in LIST_FILTERS.items()]
        parts += [f"tags_{k}", _score(word, segments), _email(word), _workspace(word, segments)]
        columns.append("(" + "\n        & ".join(parts) + f") AS mask_{k}")
    return ",\n    ".join(columns)


def word_segment_ids(segments: list[Segment], k: int) -> str:
    """Expression: the ids of the segments whose bit is set in `mask_k`, ascending,
    in the narrowest integer type holding every id: the daily aggregation copies
    these lists once per send (~50M elements at 10M sends), and USMALLINT moves a
    quarter of BIGINT's bytes. Readers cast the ids back to BIGINT."""
    id_type = _narrowest_type([s.id for s in segments])
    tests = [f"CASE WHEN mask_{k} & {1 << bit}::UBIGINT <> 0 THEN {s.id} END" for bit, s in enumerate(words(segments)[k])]
    if not tests:
        return f"CAST([] AS {id_type}[])"
    return f"CAST(list_filter([" + ", ".join(tests) + f"], id -> id IS NOT NULL) AS {id_type}[])"


def _narrowest_type(ids: list[int]) -> str:
    if ids and min(ids) < 0:
        return "BIGINT"
    top = max(ids, default=0)
    return "USMALLINT" if top <= 0xFFFF else "UINTEGER" if top <= 0xFFFFFFFF else "BIGINT"


def segment_id_list(segments: list[Segment]) -> str:
    """Expression over `stg_leads` columns: the ids of the segments the lead matches,
    ascending — one predicate per segment, in SQL both engines run alike. Spark has
    no unsigned 64-bit masks, and on a cluster the predicates run in parallel
    anyway; DuckDB keeps the bitmask encoding above."""
    tests = [f"CASE WHEN {segment_predicate(s)} THEN {s.id} END" for s in sorted(segments, key=lambda s: s.id)]
    if not tests:
        return "CAST([] AS BIGINT[])"
    return "list_filter([" + ", ".join(tests) + "], id -> id IS NOT NULL)"
