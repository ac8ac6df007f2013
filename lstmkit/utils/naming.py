"""Names: looking identifiers up with did-you-mean errors, rejecting unknown keyword arguments,
and Keras-style unique layer names (``lstm``, ``lstm_1``, ...)."""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping

__all__ = [
    "closest",
    "did_you_mean",
    "lookup",
    "reject_unknown_kwargs",
    "reset_names",
    "snake_case",
    "unique_name",
    "unknown_name_error",
]


def _edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions, adjacent swaps."""
    previous2, previous = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if previous2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def closest(received: str, valid: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` entries of ``valid`` that look like ``received`` (case-insensitive), best first."""
    typed = str(received)
    received = typed.lower()
    scored = []
    for name in dict.fromkeys(valid):
        lowered = name.lower()
        distance = _edit_distance(received, lowered)
        similarity = difflib.SequenceMatcher(None, received, lowered).ratio()
        shorter, longer = sorted((received, lowered), key=len)
        prefix = len(shorter) >= 3 and longer.startswith(
            shorter
        )  # 'batch' -> 'batch_size', 'minimum' -> 'min'
        if distance <= max(2, len(received) // 3) or similarity >= 0.75 or prefix:
            other_style = (name == lowered) != (typed == received)  # prefer the user's own spelling style
            scored.append((distance, -similarity, other_style, name))
    best, seen = [], set()
    for *_, name in sorted(scored):
        key = name.lower().replace("_", "")  # 'glorot_uniform' and 'GlorotUniform' are one suggestion
        if key not in seen:
            seen.add(key)
            best.append(name)
    return best[:n]


def did_you_mean(received: str, valid: Iterable[str]) -> str:
    """``" Did you mean 'a' or 'b'?"``, naming the entries of ``valid`` closest to ``received`` ("" if none)."""
    hits = closest(received, valid)
    if not hits:
        return ""
    return " Did you mean " + " or ".join(repr(h) for h in hits) + "?"


def unknown_name_error(kind: str, received, valid: Iterable[str]) -> ValueError:
    valid = list(valid)
    # List the snake_case spellings when there are any; class names ('GlorotUniform') are accepted too.
    shown = sorted({v for v in valid if v == v.lower()}) or sorted(set(valid))
    return ValueError(
        f"Unknown {kind}: {received!r}.{did_you_mean(str(received), valid)} "
        f"Valid {kind} names: {', '.join(shown)}."
    )


def lookup(kind: str, name: str, table: Mapping[str, object], hint: str = ""):
    """``table[name]``, or a ValueError that names the closest valid keys (and ``hint``)."""
    try:
        return table[name]
    except KeyError:
        error = unknown_name_error(kind, name, table.keys())
        raise (ValueError(f"{error} {hint}") if hint else error) from None


def reject_unknown_kwargs(owner: str, kwargs: Mapping, allowed: Iterable[str]) -> None:
    """Raise TypeError for the first keyword in ``kwargs`` (an accepted argument is never ignored)."""
    for key in kwargs:
        raise TypeError(
            f"{owner} got an unexpected keyword argument {key!r}.{did_you_mean(key, allowed)} "
            f"Accepted keyword arguments: {', '.join(sorted(allowed))}."
        )


def snake_case(name: str) -> str:
    """'SimpleRNN' -> 'simple_rnn', 'LSTM' -> 'lstm', 'Conv1D' -> 'conv1d'."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


_name_counts: defaultdict[str, int] = defaultdict(int)


def reset_names() -> None:
    """Start automatic names afresh (``keras.backend.clear_session()``)."""
    _name_counts.clear()


def unique_name(base: str) -> str:
    """``base`` the first time, then ``base_1``, ``base_2``, ... (as Keras names layers)."""
    count = _name_counts[base]
    _name_counts[base] += 1
    return base if count == 0 else f"{base}_{count}"
