"""`segment_membership(relation)`: the query giving each lead the ids of the segments it matches.

Testing 200 segments' predicates on every lead costs 200 predicate evaluations
per lead. Instead, segments are numbered into 64-bit words, and for each filter
key we precompute, per attribute value, the mask of segments that accept it
(a segment without that filter accepts every value). A lead's mask is then the
AND of a handful of lookups — its source's mask, its country's mask, its tags'
masks OR-ed together, its score bucket's mask, … — about ten operations per
word whatever the number of segments.

The query, in four steps:

1. `encoded`: each match key becomes its 1-based position among the values the
   filters mention (0 = no filter mentions it), so lookups index small lists;
2. `tag_sets`: per distinct set of tags (85k sets at 1M leads), the segments it
   satisfies, so the per-tag lambdas run once per set, not once per lead;
3. `lead_masks`: per lead, `mask_k` = the AND of its lookups, one bit per segment;
4. `word_k`: each distinct value of `mask_k` turned into its segment ids once
   (on the benchmark's 1M leads and 200 segments: 9k, 14k, 8k and 64 values,
   where whole masks have 330k); a lead's list is its words' lists one after
   the other.

Every number here is generated from validated segments; filter values appear
only in the vocabulary lists of step 1, quoted by `sql_literal`.
"""

from __future__ import annotations

from .segments import LIST_FILTERS, Segment, segment_predicate
from .sql import sql_literal

WORD_BITS = 64
#: the columns segment_membership() reads from its relation (staging.stg_leads)
INPUT_COLUMNS = ("lead_id", "workspace_id", "score", "has_email", *LIST_FILTERS.values(), "tag_keys")


def segment_membership(segments: list[Segment], relation: str) -> str:
    """SELECT lead_id, workspace_id, segment_ids (ascending) for every lead of `relation`,
    which has INPUT_COLUMNS: match keys trimmed and lower-cased, as stg_leads has them."""
    vocabulary = filter_vocabulary(segments)
    chunks = words(segments)
    encoded = ",\n        ".join(
        f"{_encode(column, vocabulary[key])} as {column}" for key, column in LIST_FILTERS.items())
    tag_columns = ",\n        ".join(
        f"{_tags(word, vocabulary['tags'])} as tags_{k}" for k, word in enumerate(chunks))
    mask_columns = ",\n        ".join(
        f"{_mask_of_lead(word, k, segments, vocabulary)} as mask_{k}" for k, word in enumerate(chunks))
    word_ctes = ",\n\n".join(
        f"word_{k} as (\n    select mask_{k}, {_segment_ids(segments, k)} as ids_{k}\n"
        f"    from (select distinct mask_{k} from lead_masks)\n)" for k in range(len(chunks)))
    segment_ids = " || ".join(f"ids_{k}" for k in range(len(chunks)))
    joins = "\n".join(f"join word_{k} using (mask_{k})" for k in range(len(chunks)))
    return f"""with encoded as (
    select
        lead_id,
        workspace_id,
        score,
        has_email,
        {encoded},
        tag_keys
    from {relation}
),

tag_sets as (
    select
        tag_keys,
        {tag_columns}
    from (
        select tag_keys, {_encode_tags('tag_keys', vocabulary['tags'])} as tag_codes
        from (select distinct tag_keys from encoded)
    )
),

lead_masks as (
    select
        lead_id,
        workspace_id,
        {mask_columns}
    from encoded
    join tag_sets using (tag_keys)
),

{word_ctes}

select
    lead_id,
    workspace_id,
    {segment_ids} as segment_ids
from lead_masks
{joins}
"""


def filter_vocabulary(segments: list[Segment]) -> dict[str, list[str]]:
    """Per list filter (and tags), the sorted values any segment mentions: a lead's
    value is encoded as its 1-based position here (0 = mentioned by no filter)."""
    keys = (*LIST_FILTERS, "tags")
    return {key: sorted({v for s in segments for v in s.filters.get(key, [])}) for key in keys}


def words(segments: list[Segment]) -> list[list[Segment]]:
    """Segments in chunks of 64: segment i of a chunk is bit i of that word."""
    ordered = sorted(segments, key=lambda s: s.id)
    return [ordered[i:i + WORD_BITS] for i in range(0, len(ordered), WORD_BITS)] or [[]]


def _encode(column: str, values: list[str]) -> str:
    return f"coalesce(list_position({sql_literal(values)}::VARCHAR[], {column}), 0)"


def _encode_tags(column: str, values: list[str]) -> str:
    return (f"list_filter(list_transform({column}, t -> list_position({sql_literal(values)}::VARCHAR[], t)), "
            "t -> t IS NOT NULL)")


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


def _mask_of_lead(word, k: int, segments, vocabulary) -> str:
    """The AND of one lead's lookups for word k: one term per filter key, then its tag set's."""
    parts = [_lookup(word, key, column, vocabulary[key]) for key, column in LIST_FILTERS.items()]
    parts += [f"tags_{k}", _score(word, segments), _email(word), _workspace(word, segments)]
    return "(" + "\n        & ".join(parts) + ")"


def _lookup(word, key: str, column: str, vocabulary: list[str]) -> str:
    """Mask by the lead's encoded value: code 0 (mentioned by no filter) first. A
    segment without this filter accepts every value."""
    unfiltered = sum(1 << bit for bit, s in enumerate(word) if not s.filters.get(key))
    masks = [f"{unfiltered}::UBIGINT", *_value_masks(word, key, vocabulary, unfiltered)]
    return f"[{', '.join(masks)}][{column} + 1]"


def _tags(word, vocabulary: list[str]) -> str:
    """The segments of word k a tag set satisfies: those without a tags filter, OR those
    naming one of its tags."""
    untagged = _mask(word, lambda s: not s.filters.get("tags"))
    per_tag = ", ".join(_value_masks(word, "tags", vocabulary, 0))
    if not per_tag:
        return untagged
    return f"({untagged} | list_reduce(list_transform(tag_codes, t -> [{per_tag}][t]), (a, b) -> a | b, 0::UBIGINT))"


def _score(word, segments) -> str:
    """CASE over the distinct min_score thresholds, highest first. A NaN score (which DuckDB
    orders above every number) is no score: it meets no min_score, as `segpipe why` says."""
    unscored = _mask(word, lambda s: s.filters.get("min_score") is None)
    thresholds = sorted({s.filters["min_score"] for s in segments if s.filters.get("min_score") is not None}, reverse=True)
    if not thresholds:
        return unscored
    branches = " ".join(
        f"WHEN score >= {t!r} THEN {_mask(word, lambda s, t=t: s.filters.get('min_score') is None or s.filters['min_score'] <= t)}"
        for t in thresholds)
    return f"CASE WHEN isnan(score) THEN {unscored} {branches} ELSE {unscored} END"


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


def _segment_ids(segments: list[Segment], k: int) -> str:
    """Expression: the ids of the segments whose bit is set in `mask_k`, ascending,
    in the narrowest integer type holding every id: the daily aggregation copies
    these lists once per send (~50M elements at 10M sends), and USMALLINT moves a
    quarter of BIGINT's bytes. Readers cast the ids back to BIGINT."""
    id_type = _narrowest_type([s.id for s in segments])
    tests = [f"CASE WHEN mask_{k} & {1 << bit}::UBIGINT <> 0 THEN {s.id} END" for bit, s in enumerate(words(segments)[k])]
    if not tests:
        return f"CAST([] AS {id_type}[])"
    return "CAST(list_filter([" + ", ".join(tests) + f"], id -> id IS NOT NULL) AS {id_type}[])"


def _narrowest_type(ids: list[int]) -> str:
    if ids and min(ids) < 0:
        return "BIGINT"
    top = max(ids, default=0)
    return "USMALLINT" if top <= 0xFFFF else "UINTEGER" if top <= 0xFFFFFFFF else "BIGINT"


def segment_membership_by_predicates(segments: list[Segment], relation: str) -> str:
    """The same query as segment_membership(), one predicate per segment, in SQL both
    engines run alike: Spark's membership. Spark has no unsigned 64-bit masks, and a
    cluster spreads the predicates over its executors anyway; DuckDB keeps the masks."""
    tests = [f"CASE WHEN {segment_predicate(s)} THEN {s.id} END" for s in sorted(segments, key=lambda s: s.id)]
    ids = "list_filter([" + ", ".join(tests) + "], id -> id IS NOT NULL)" if tests else "CAST([] AS BIGINT[])"
    return f"select lead_id, workspace_id, {ids} as segment_ids\nfrom {relation}"
