"""The vocabulary of ``@app.inspect``: its keywords and operators, and refusing
misspelt ones when the app is defined.

``limit__gtee=1`` (an operator that does not exist) is refused by
:func:`atila.inspection._parse_path` with :data:`OPERATOR_HELP`;
``int=["limit"]`` (a keyword that does not exist) by
:func:`refuse_misspelt_keyword`. Both raise ``TypeError`` naming the valid
spellings, as Python does for an unexpected keyword argument.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

__all__ = ["KEYWORDS", "OPERATORS", "OPERATOR_HELP", "refuse_misspelt_keyword", "split_rule_key"]

#: the operators a rule key may end with (``a__gte``)
OPERATORS = frozenset({
    "eq", "neq", "gt", "gte", "lt", "lte", "in", "notin", "between", "startswith",
    "endswith", "notstartwith", "notendwith", "contains", "notcontain",
})  # fmt: skip
#: the operators in the order the spec lists them, for error messages
OPERATOR_HELP = (
    "__eq, __neq, __gt, __gte, __lt, __lte, __in, __notin, __between, __startswith, "
    "__endswith, __notstartwith, __notendwith, __contains, __notcontain, and __len before "
    "one of them (a__len__between=(4, 8)); ___ descends into a JSON key, __<n> indexes an array"
)

#: the keyword arguments of ``@app.inspect`` that take parameter names
KEYWORDS = (
    "required", "ints", "floats", "emails", "uuids", "nones", "lists", "strings",
    "booleans", "dicts", "oneof", "manyof", "notags", "safes",
)  # fmt: skip
# Short spellings difflib does not find close enough to their keyword.
_KEYWORD_ALIASES = {
    "int": "ints", "integer": "ints", "integers": "ints", "float": "floats",
    "number": "floats", "numbers": "floats", "bool": "booleans", "str": "strings",
    "require": "required", "requires": "required", "one_of": "oneof", "many_of": "manyof",
}  # fmt: skip
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\s*,\s*[A-Za-z_][A-Za-z0-9_]*)*")


def _looks_like_names(value: Any) -> bool:
    """Whether ``value`` has the shape of a keyword's name list: ``["limit"]``, ``"a, b"``."""
    if isinstance(value, str):
        return _NAME_RE.fullmatch(value.strip()) is not None
    return (
        isinstance(value, list | tuple)
        and bool(value)
        and all(isinstance(item, str) and _NAME_RE.fullmatch(item) for item in value)
    )


def refuse_misspelt_keyword(key: str, value: Any) -> None:
    """``int=["limit"]`` meant ``ints``: a ``TypeError`` naming the keywords.

    A bare ``name=value`` is the spec's equality rule, so only a key close to a
    keyword (or a known short spelling of one) given a list of names is refused.
    """
    if "__" in key or not _looks_like_names(value):
        return
    match = _KEYWORD_ALIASES.get(key.lower()) or next(
        iter(difflib.get_close_matches(key.lower(), KEYWORDS, n=1, cutoff=0.75)), None
    )
    if match is not None:
        raise TypeError(
            f"@app.inspect: unknown keyword {key!r} (did you mean {match!r}?); keywords: "
            f"{', '.join(KEYWORDS)}, or <param>=<type>, <param>=re.compile(...), "
            f"<param>=<value> and <param><operator>=<value> with operators {OPERATOR_HELP}"
        )


def split_rule_key(key: str) -> tuple[str, str, bool]:
    """``"a__len__gte"`` -> ``("a", "gte", True)``: the parameter path, the operator
    (``eq`` when none is given) and whether the rule is on the value's length."""
    head, sep, tail = key.rpartition("__")
    op = "eq"
    if sep and head and tail in OPERATORS:
        key, op = head, tail
    by_length = key.endswith("__len") and len(key) > 5
    return (key[:-5] if by_length else key), op, by_length
