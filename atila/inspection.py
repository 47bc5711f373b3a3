"""``@app.inspect`` (alias ``@app.require``): request parameter validation.

Spec: "Testing Parameters". :class:`Inspection` parses its rules once, in
``__init__``, into a tuple of small checker closures; :meth:`Inspection.check`
only runs them. Supported rules: ``required``, ``ints``, ``floats``, ``emails``,
``uuids``, ``nones``, ``lists``, ``strings``, ``booleans``, ``dicts``, ``oneof``,
``manyof``, ``notags``, ``safes``, type specs (``offset=int``,
``prodtype=[int, str]``), operators (``a__gte=5``, ``__neq __gt __gte __lt __lte
__in __notin __between __startswith __endswith __notstartwith __notendwith
__contains __notcontain``, plus ``__eq`` and a bare literal for equality),
length checks (``a__len__between=(4, 8)``, ``a__len=3``), regular expressions
(``a=re.compile("^hans")``, searched) and JSON nodes (``data___scores__1__gte=10``:
``___`` descends into an object key, ``__<n>`` indexes an array).

Misspelt rules (``limit__gtee=1``, ``int=["limit"]``) raise ``TypeError`` when the
app is defined (see :mod:`atila.rulenames`). A parameter given more than once
(a :class:`Repeated`, ``?id=1&id=2``) fails every rule that expects one value
with "given more than once", unless it is declared in ``lists``: then the rules
check each item.
"""

from __future__ import annotations

import html
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from atila.converters import (
    CONVERSION_ERRORS,
    NAMED_CONVERTERS,
    TYPE_CONVERTERS,
    first_fit,
    to_number,
)
from atila.errors import ParameterError
from atila.jsonbody import JSONTooDeep
from atila.jsonbody import loads as json_loads
from atila.rulenames import (
    KEYWORDS,
    OPERATOR_HELP,
    OPERATORS,
    refuse_misspelt_keyword,
    split_rule_key,
)

# Each rule of an Inspection is compiled into a Checker: it reads the parameter
# dict and the dict of values converted so far, writes conversions into the
# latter, and raises ParameterError when the rule fails.
Checker = Callable[[Mapping[str, Any], dict[str, Any]], None]
_MISSING: Any = object()


class Repeated(list[Any]):
    """The values of a parameter the client gave more than once (``?id=1&id=2``).

    A plain ``list`` otherwise; rules that expect one value (``ints``,
    ``a__gte=1``, ...) answer 400 "given more than once" for it, unless the
    parameter is declared in ``lists`` (then they check every item).
    """


def _repeated(name: str, value: list[Any]) -> ParameterError:
    return ParameterError(name, f"parameter {name} is given more than once ({len(value)} values)")


def _names(value: Iterable[str] | str | None) -> tuple[str, ...]:
    """A list of parameter names, given as an iterable or a comma-separated string."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return tuple(str(name) for name in value)


def _groups(value: Iterable[Any] | str | None) -> list[tuple[str, ...]]:
    """``oneof``/``manyof``: one list of names, or a list of such lists."""
    if not value:
        return []
    if isinstance(value, str):
        return [_names(value)]
    items = list(value)
    if all(isinstance(item, str) for item in items):
        return [tuple(items)]
    return [_names(item) for item in items]


def _current(params: Mapping[str, Any], out: dict[str, Any], name: str) -> Any:
    return out[name] if name in out else params.get(name, _MISSING)


def _given(value: Any) -> bool:
    return (
        value is not _MISSING and value is not None and not (isinstance(value, str) and not value)
    )


def _load_json(text: str) -> Any:
    try:
        return json_loads(text)
    except ValueError:  # JSONTooDeep too: a node that cannot be read is absent
        return _MISSING


@dataclass(frozen=True)
class _Path:
    """A parameter, or a node inside it: ``data___scores__1`` is data["scores"][1]."""

    name: str
    steps: tuple[str | int, ...]
    label: str

    def get(self, params: Mapping[str, Any], out: dict[str, Any]) -> Any:
        value = _current(params, out, self.name)
        for step in self.steps:
            if isinstance(value, str):
                value = _load_json(value)
            if isinstance(step, int):
                if not isinstance(value, list | tuple) or not -len(value) <= step < len(value):
                    return _MISSING
                value = value[step]
            elif isinstance(value, Mapping):
                value = value.get(step, _MISSING)
            else:
                return _MISSING
        return value


def _parse_path(key: str) -> _Path:
    """``___`` descends into an object key, ``__<digits>`` indexes an array.

    Any other ``__<word>`` left in ``key`` (``limit__gtee``) is a misspelt
    operator: a ``TypeError`` naming the valid ones.
    """
    name = ""
    steps: list[str | int] = []
    for position, part in enumerate(key.split("___")):
        pieces = part.split("__")
        cut = len(pieces)
        while cut > 1 and pieces[cut - 1].isascii() and pieces[cut - 1].isdigit():
            cut -= 1
        head = "__".join(pieces[:cut])
        if not head:
            raise TypeError(f"@app.inspect: invalid parameter path {key!r}")
        unknown = [piece for piece in pieces[1:cut] if piece] if pieces[0] else []
        if unknown:
            raise TypeError(
                f"@app.inspect: unknown operator '__{unknown[-1]}' in {key!r}; "
                f"operators: {OPERATOR_HELP}"
            )
        if position == 0:
            name = head
        else:
            steps.append(head)
        steps.extend(int(piece) for piece in pieces[cut:])
    label = name + "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in steps)
    return _Path(name, tuple(steps), label)


def _required_checker(path: _Path) -> Checker:
    def check(params: Mapping[str, Any], out: dict[str, Any]) -> None:
        if not _given(path.get(params, out)):
            raise ParameterError(path.name, f"parameter {path.label} is required")

    return check


def _oneof_checker(group: tuple[str, ...]) -> Checker:
    paths = [_parse_path(name) for name in group]
    labels = ", ".join(p.label for p in paths)

    def check(params: Mapping[str, Any], out: dict[str, Any]) -> None:
        if not any(_given(p.get(params, out)) for p in paths):
            raise ParameterError(",".join(group), f"one of parameters {labels} is required")

    return check


def _manyof_checker(group: tuple[str, ...]) -> Checker:
    paths = [_parse_path(name) for name in group]
    labels = ", ".join(p.label for p in paths)

    def check(params: Mapping[str, Any], out: dict[str, Any]) -> None:
        missing = [p for p in paths if not _given(p.get(params, out))]
        if missing and len(missing) < len(paths):
            raise ParameterError(
                missing[0].name,
                f"parameters {labels} must be given together; "
                f"missing {', '.join(p.label for p in missing)}",
            )

    return check


def _convert_param(
    name: str, convert: Callable[[Any], Any], must: str, *, scalar: bool, listed: bool
) -> Checker:
    """Convert parameter ``name``. A ``scalar`` conversion (``ints``, ``offset=int``)
    refuses a repeated parameter, or converts each item when the name is ``listed``
    (declared in ``lists``)."""

    def check(params: Mapping[str, Any], out: dict[str, Any]) -> None:
        value = _current(params, out, name)
        if value is _MISSING or value is None:
            return
        if scalar and isinstance(value, list):
            if listed:
                out[name] = _convert_each(name, convert, must, value)
                return
            if isinstance(value, Repeated):
                raise _repeated(name, value)
        try:
            out[name] = convert(value)
        except JSONTooDeep as exc:
            raise ParameterError(name, f"parameter {name} is {exc}") from None
        except CONVERSION_ERRORS:
            raise ParameterError(name, _must_message(name, must, value)) from None

    return check


def _convert_each(name: str, convert: Callable[[Any], Any], must: str, items: list[Any]) -> list:
    converted = []
    for index, item in enumerate(items):
        try:
            converted.append(convert(item))
        except CONVERSION_ERRORS:
            raise ParameterError(name, _must_message(f"{name}[{index}]", must, item)) from None
    return converted


def _must_message(label: str, must: str, value: Any) -> str:
    """``parameter a must be an integer``, saying so when a list or object came instead."""
    message = f"parameter {label} must {must}"
    if isinstance(value, list | tuple):
        return message + ", not a list"
    if isinstance(value, Mapping):
        return message + ", not an object"
    return message


def _named_converter(kind: str, name: str, listed: bool) -> Checker:
    convert, must, _ = NAMED_CONVERTERS[kind]
    return _convert_param(name, convert, must, scalar=kind not in _MULTI_KINDS, listed=listed)


#: named conversions that take a repeated parameter as it is
_MULTI_KINDS = frozenset({"lists", "nones"})


def _is_type_spec(spec: Any) -> bool:
    if isinstance(spec, type):
        return True
    return isinstance(spec, list | tuple) and bool(spec) and all(isinstance(t, type) for t in spec)


def _type_converter(kind: type) -> Callable[[Any], Any]:
    known = TYPE_CONVERTERS.get(kind)
    if known is not None:
        return known

    def convert(value: Any) -> Any:
        if isinstance(value, kind):
            return value
        if isinstance(value, str):
            return kind(value)
        raise ValueError(value)

    return convert


def _type_checker(
    key: str, spec: type | list[type] | tuple[type, ...], lists: frozenset[str]
) -> Checker:
    """``offset=int``: convert to the type; ``prodtype=[int, str]``: the first that fits."""
    kinds = (spec,) if isinstance(spec, type) else tuple(spec)
    convert = first_fit([_type_converter(kind) for kind in kinds])
    must = "be " + " or ".join(kind.__name__ for kind in kinds)
    path = _parse_path(key)
    if not path.steps:
        scalar = list not in kinds
        return _convert_param(path.name, convert, must, scalar=scalar, listed=path.name in lists)

    def check_node(params: Mapping[str, Any], out: dict[str, Any]) -> None:
        value = path.get(params, out)
        if value is _MISSING or value is None:
            return
        try:
            convert(value)
        except ValueError:
            raise ParameterError(path.name, f"parameter {path.label} must {must}") from None

    return check_node


# ---- notags / safes

_XSS_RE = re.compile(
    r"<\s*/?\s*(?:script|iframe|frame|object|embed|applet|meta|link|style|base|form|svg|math)\b"
    r"|<[^>]*[\s/\"'`]on[a-z]+\s*="
    r"|[\"'`][^<>\"'`]*?(?:^|[\s/\"'`])on[a-z]+\s*="
    r"|expression\s*\("
    r"|data\s*:\s*text/html"
    r"|srcdoc\s*=",
    re.IGNORECASE,
)
_SCRIPT_SCHEME_RE = re.compile(r"(?:java|vb|live)script:", re.IGNORECASE)
_BLANKS_RE = re.compile(r"[\x00-\x20]+")


def looks_unsafe(text: str) -> bool:
    """Whether ``text`` looks like a cross-site scripting attempt (``safes``).

    A heuristic: script-capable tags, ``on...=`` handlers inside a tag or after
    a quote, ``javascript:``-like schemes (also with blanks inside), CSS
    ``expression(``, ``data:text/html`` and ``srcdoc=``; checked on the text as
    given, HTML-unescaped and URL-unquoted.
    """
    for candidate in {text, html.unescape(text), unquote(text)}:
        if _XSS_RE.search(candidate):
            return True
        if _SCRIPT_SCHEME_RE.search(_BLANKS_RE.sub("", candidate)):
            return True
    return False


def _safe_checker(name: str) -> Checker:
    def check(params: Mapping[str, Any], out: dict[str, Any]) -> None:
        value = _current(params, out, name)
        items = value if isinstance(value, list) else [value]
        if any(isinstance(item, str) and looks_unsafe(item) for item in items):
            raise ParameterError(name, f"parameter {name} contains unsafe markup")

    return check


def _escape_tags(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("<", "&lt;").replace(">", "&gt;")
    return value


def _notags_converter(name: str) -> Checker:
    def check(params: Mapping[str, Any], out: dict[str, Any]) -> None:
        value = _current(params, out, name)
        if isinstance(value, str):
            out[name] = _escape_tags(value)
        elif isinstance(value, list):
            out[name] = [_escape_tags(item) for item in value]

    return check


# ---- operators: a__gte=5, a__len__between=(4, 8), a=re.compile(...), a=literal


class _NotANumber(ValueError):
    """Text compared with a number does not read as one."""


def _coerce(value: Any, like: Any) -> Any:
    """A string compared with a number is read as a number (query strings are text)."""
    if isinstance(value, str) and isinstance(like, int | float) and not isinstance(like, bool):
        try:
            return to_number(value)
        except ValueError:
            raise _NotANumber(value) from None
    return value


def _compare_each(compare: Callable[[Any], bool], value: Any) -> bool:
    """``compare`` a value, or each item of a list (a ``lists`` parameter)."""
    if isinstance(value, list):
        return all(compare(item) for item in value)
    return compare(value)


def _member(value: Any, options: Any) -> bool:
    if isinstance(value, str) and not isinstance(options, str):
        if any(isinstance(o, int | float) and not isinstance(o, bool) for o in options):
            try:
                value = to_number(value)
            except ValueError:
                pass
    return value in options


def _each(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _contains(value: Any, needle: Any) -> bool:
    if isinstance(value, str):
        return str(needle) in value
    if isinstance(value, list | tuple | set | frozenset | dict):
        return needle in value
    return False


def _operator_test(op: str, x: Any) -> tuple[Callable[[Any], bool], str]:
    """The test for one operator and operand, and what it requires, in words."""
    if op in ("in", "notin"):
        if not isinstance(x, list | tuple | set | frozenset | str | dict | range):
            raise TypeError(f"__{op} needs a collection, not {x!r}")
        shown = x if isinstance(x, str) else list(x)
        if op == "in":
            return (lambda v: all(_member(e, x) for e in _each(v))), f"be one of {shown!r}"
        return (lambda v: not any(_member(e, x) for e in _each(v))), f"not be one of {shown!r}"
    if op == "between":
        if not isinstance(x, list | tuple) or len(x) != 2:
            raise TypeError(f"__between needs (low, high), not {x!r}")
        low, high = x
        between = lambda v: low <= _coerce(v, low) <= high  # noqa: E731
        return (lambda v: _compare_each(between, v)), f"be between {low!r} and {high!r}"
    if op in ("startswith", "endswith", "notstartwith", "notendwith"):
        affix = tuple(x) if isinstance(x, list) else x
        if not isinstance(affix, str | tuple):
            raise TypeError(f"__{op} needs a string, not {x!r}")
        method = str.startswith if "start" in op else str.endswith
        verb = "start" if "start" in op else "end"
        if op.startswith("not"):
            test = lambda v: not any(method(str(e), affix) for e in _each(v))  # noqa: E731
            return test, f"not {verb} with {x!r}"
        return (lambda v: all(method(str(e), affix) for e in _each(v))), f"{verb} with {x!r}"
    if op == "contains":
        return (lambda v: _contains(v, x)), f"contain {x!r}"
    if op == "notcontain":
        return (lambda v: not _contains(v, x)), f"not contain {x!r}"
    compare, words = _COMPARISONS[op]
    if isinstance(x, list | tuple):  # equality with a list literal compares the lists
        return (lambda v: compare(v, x)), f"{words} {x!r}"
    return (lambda v: _compare_each(lambda e: compare(_coerce(e, x), x), v)), f"{words} {x!r}"


_COMPARISONS: dict[str, tuple[Callable[[Any, Any], bool], str]] = {
    "eq": (operator.eq, "be"),
    "neq": (operator.ne, "not be"),
    "gt": (operator.gt, "be greater than"),
    "gte": (operator.ge, "be greater than or equal to"),
    "lt": (operator.lt, "be less than"),
    "lte": (operator.le, "be less than or equal to"),
}


def _regex_test(pattern: re.Pattern[str]) -> tuple[Callable[[Any], bool], str]:
    def test(value: Any) -> bool:
        return all(pattern.search(str(e)) is not None for e in _each(value))

    return test, f"match {pattern.pattern!r}"


def _operator_checker(key: str, spec: Any, lists: frozenset[str]) -> Checker:
    key, op, by_length = split_rule_key(key)
    path = _parse_path(key)
    if isinstance(spec, re.Pattern):
        if op != "eq" or by_length:
            raise TypeError(f"inspect {key!r}: a regular expression takes no operator")
        test, must = _regex_test(spec)
    elif callable(spec):
        raise TypeError(f"inspect {key!r}: unsupported rule {spec!r}")
    else:
        test, must = _operator_test(op, spec)
    prefix = "length of parameter" if by_length else "parameter"
    message = f"{prefix} {path.label} must {must}"
    listed = path.name in lists and not path.steps

    def check(params: Mapping[str, Any], out: dict[str, Any]) -> None:
        value = path.get(params, out)
        if value is _MISSING or value is None:
            return
        if isinstance(value, Repeated) and not listed:
            raise _repeated(path.name, value)
        if by_length and not isinstance(value, str | list | tuple | Mapping):
            raise ParameterError(path.name, f"parameter {path.label} must be text or a list")
        try:
            ok = test(len(value) if by_length else value)
        except _NotANumber:
            raise ParameterError(path.name, f"parameter {path.label} must be a number") from None
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ParameterError(path.name, message)

    return check


DATA_SCOPES = frozenset({"ARGS", "URL", "FORM", "JSON", "DATA"})
METHOD_SCOPES = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


class Inspection:
    """``@app.inspect(scope, required, ints, ..., **kargs)`` compiled once.

    ``scope`` is ``"ARGS"`` (default), ``"URL"``, ``"FORM"``, ``"JSON"``,
    ``"DATA"``, or an HTTP method name meaning "ARGS, for that method only"
    (see :attr:`source` and :meth:`applies_to`). Name lists may be given as a
    list or a comma-separated string. Rules run in this order: ``required``,
    ``oneof``, ``manyof``, ``safes``, ``nones``, ``lists``, ``ints``, ``floats``,
    ``booleans``, ``dicts``, ``strings``, ``emails``, ``uuids``, type specs
    (``offset=int``), ``notags``, then the ``kargs`` operators in order.

    Absent parameters (and ``None`` values) are only checked by ``required``,
    ``oneof`` and ``manyof``; ``required`` also rejects ``None`` and ``""``.
    ``oneof``: at least one of the names is given. ``manyof``: the names go
    together — if any is given, all must be. Either takes one list of names or
    a list of such lists.
    """

    def __init__(
        self,
        scope: str = "ARGS",
        required: Iterable[str] | str | None = None,
        ints: Iterable[str] | str | None = None,
        floats: Iterable[str] | str | None = None,
        emails: Iterable[str] | str | None = None,
        uuids: Iterable[str] | str | None = None,
        nones: Iterable[str] | str | None = None,
        lists: Iterable[str] | str | None = None,
        strings: Iterable[str] | str | None = None,
        booleans: Iterable[str] | str | None = None,
        dicts: Iterable[str] | str | None = None,
        oneof: Iterable[Any] | str | None = None,
        manyof: Iterable[Any] | str | None = None,
        notags: Iterable[str] | str | None = None,
        safes: Iterable[str] | str | None = None,
        **kargs: Any,
    ) -> None:
        normalized = str(scope).upper()
        if normalized not in DATA_SCOPES and normalized not in METHOD_SCOPES:
            raise ValueError(
                f"unknown inspect scope {scope!r}; scopes: ARGS, URL, FORM, JSON, DATA, "
                "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"
            )
        self.scope: str = normalized
        #: the only method this inspection runs for (None: every method)
        self.method: str | None = normalized if normalized in METHOD_SCOPES else None
        #: which parameter dict the caller passes to :meth:`check`
        self.source: str = "ARGS" if normalized in METHOD_SCOPES else normalized
        checkers: list[Checker] = []
        checkers += [_required_checker(_parse_path(n)) for n in _names(required)]
        checkers += [_oneof_checker(group) for group in _groups(oneof)]
        checkers += [_manyof_checker(group) for group in _groups(manyof)]
        checkers += [_safe_checker(n) for n in _names(safes)]
        listed = frozenset(_names(lists))
        for key, value_list in (
            ("nones", nones),
            ("lists", lists),
            ("ints", ints),
            ("floats", floats),
            ("booleans", booleans),
            ("dicts", dicts),
            ("strings", strings),
            ("emails", emails),
            ("uuids", uuids),
        ):
            checkers += [_named_converter(key, n, n in listed) for n in _names(value_list)]
        operators: list[Checker] = []
        for key, spec in kargs.items():
            refuse_misspelt_keyword(key, spec)
            if _is_type_spec(spec):
                checkers.append(_type_checker(key, spec, listed))
            else:
                operators.append(_operator_checker(key, spec, listed))
        checkers += [_notags_converter(n) for n in _names(notags)]
        self._checkers: tuple[Checker, ...] = tuple(checkers + operators)

    def applies_to(self, method: str) -> bool:
        """Whether this inspection runs for a request with ``method``."""
        return self.method is None or method.upper() == self.method

    def check(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Validate ``params`` (the scope's dict); return the converted values.

        Raises :class:`ParameterError` on the first failing rule.
        """
        converted: dict[str, Any] = {}
        for checker in self._checkers:
            checker(params, converted)
        return converted

    def __repr__(self) -> str:
        return f"<Inspection {self.scope} rules={len(self._checkers)}>"


__all__ = [
    "DATA_SCOPES", "KEYWORDS", "METHOD_SCOPES", "OPERATORS", "OPERATOR_HELP", "Inspection",
    "Repeated", "looks_unsafe",
]  # fmt: skip
