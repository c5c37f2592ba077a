"""Counts in words, as people write them: "1 warning", "2 warnings"."""


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`count` and the noun, singular for exactly one (`failing row` → `failing rows`)."""
    return f"{count:,} {singular if count == 1 else plural_form or singular + 's'}"
