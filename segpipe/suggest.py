"""Close-match hints ("did you mean …?") shared by every validator."""

def did_you_mean(word: str, choices) -> str:
    """Return ' (did you mean 'x'?)' for the closest choice, or '' when none is close. A choice
    differing only in case comes first (`EUROPE/BERLIN`: difflib compares case, and finds none)."""
    import difflib  # only when there is a mistake to explain: 1 ms of `segpipe top`'s start-up

    choices = [str(c) for c in choices]
    match = [c for c in choices if c.casefold() == str(word).casefold()] or difflib.get_close_matches(
        str(word), choices, n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def check_keys(mapping: dict, allowed, where: str, error_class) -> None:
    """Raise error_class naming the first unknown key of mapping and its closest valid key."""
    for key in mapping:
        if key not in allowed:
            hint = did_you_mean(key, allowed) or f" (valid keys: {', '.join(sorted(allowed))})"
            raise error_class(f"{where}: unknown key '{key}'{hint}")
