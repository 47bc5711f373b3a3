"""Parameter binding and @app.inspect (spec: "Getting Parameters", "Testing Parameters")."""

from __future__ import annotations

import functools
import re
import uuid
from typing import Any

import pytest

from atila.errors import ParameterError
from atila.inspection import looks_unsafe
from atila.parameters import (
    HandlerSignature,
    Inspection,
    bind_arguments,
    merge_args,
    parse_query,
)

# --------------------------------------------------------------------------- signatures


def test_signature_of_a_handler() -> None:
    def episode(was: Any, id: int, topic: str = "python", **karg: Any) -> None: ...

    sig = HandlerSignature.from_function(episode)
    assert sig.wants_was is True
    assert sig.names == ("id", "topic")
    assert sig.defaults == {"topic": "python"}
    assert sig.var_keyword == "karg"
    assert sig.required == ("id",)


def test_signature_without_was_and_keyword_only() -> None:
    def episodes(uid: int, *, limit: int = 10) -> None: ...

    sig = HandlerSignature.from_function(episodes)
    assert sig.wants_was is False
    assert sig.names == ("uid", "limit")
    assert sig.var_keyword is None


def test_signature_follows_wraps() -> None:
    def handler(was: Any, num: int = 8) -> None: ...

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> None: ...

    assert HandlerSignature.from_function(wrapper).names == ("num",)


def test_positional_only_parameters_are_refused() -> None:
    def handler(was: Any, num: int, /) -> None: ...

    with pytest.raises(TypeError, match="positional-only"):
        HandlerSignature.from_function(handler)


# --------------------------------------------------------------------------- query / merge


def test_parse_query() -> None:
    assert parse_query("") == {}
    assert parse_query("a=1&b=&c&a=2&a=3&d=%ED%95%9C+x") == {
        "a": ["1", "2", "3"],
        "b": "",
        "c": "",
        "d": "한 x",
    }


@pytest.mark.parametrize(
    "query",
    ["a", "=", "&&a=1&&", "=x&=y", "a+b=c+d", "%41%2B=%2b%zz", "k=%ED%95", "a=b=c", "x=;y=1",
     "%20+%20=+", "é=ü&é=%C3%BC"],
)  # fmt: skip
def test_parse_query_agrees_with_parse_qsl(query: str) -> None:
    """The inlined parser gives what ``parse_qsl(keep_blank_values=True)`` gives."""
    from urllib.parse import parse_qsl

    expected: dict[str, Any] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        previous = expected.get(key)
        if key not in expected:
            expected[key] = value
        elif isinstance(previous, list):
            previous.append(value)
        else:
            expected[key] = [previous, value]
    assert parse_query(query) == expected


def test_merge_args_lists_duplicates_and_body_beats_query() -> None:
    url = {"id": "5"}
    query = {"topic": "python", "id": "6", "q": "x"}
    body = {"q": "from body", "comment": "good"}
    assert merge_args(url, query, body) == {
        "id": ["5", "6"],
        "topic": "python",
        "q": "from body",
        "comment": "good",
    }
    assert merge_args({"id": 1}, {}, {"id": 2}) == {"id": [1, 2]}
    assert merge_args({}, {"tag": ["a", "b"]}, {}) == {"tag": ["a", "b"]}


# --------------------------------------------------------------------------- binding


def _sig(func: Any) -> HandlerSignature:
    return HandlerSignature.from_function(func)


def test_bind_in_origin_order() -> None:
    def hello(was: Any, id: int, topic: str, comment: str) -> None: ...

    kwargs = bind_arguments(_sig(hello), {"id": 100}, {"topic": "Python"}, {"comment": "ok"})
    assert kwargs == {"id": 100, "topic": "Python", "comment": "ok"}


def test_body_parameters_bind_without_naming_the_query_ones() -> None:
    def hello(was: Any, userid: str, **form: Any) -> None: ...

    kwargs = bind_arguments(_sig(hello), {}, {"x": "1"}, {"userid": "hans", "comment": "hi"})
    assert kwargs == {"x": "1", "userid": "hans", "comment": "hi"}


def test_defaults_fill_missing_optional_arguments() -> None:
    def hello(was: Any, num: int = 8) -> None: ...

    assert bind_arguments(_sig(hello), {}, {}, {}) == {}
    assert bind_arguments(_sig(hello), {}, {"num": "100"}, {}) == {"num": "100"}


def test_unexpected_parameter_is_a_400_naming_it() -> None:
    def hello(was: Any, num: int = 8) -> None: ...

    with pytest.raises(ParameterError) as caught:
        bind_arguments(_sig(hello), {}, {"num": "1", "other": "2"}, {})
    assert caught.value.code == 400
    assert caught.value.param == "other"
    assert "unexpected parameter: other" in caught.value.detail


def test_missing_parameter_is_a_400_naming_it() -> None:
    def hello(was: Any, limit: int, offset: int = 0) -> None: ...

    with pytest.raises(ParameterError) as caught:
        bind_arguments(_sig(hello), {}, {"offset": "2"}, {})
    assert caught.value.code == 400
    assert caught.value.param == "limit"
    assert "missing parameter: limit" in caught.value.detail


def test_var_keyword_takes_everything_but_was() -> None:
    def hello(was: Any, **karg: Any) -> None: ...

    assert bind_arguments(_sig(hello), {"id": 1}, {"a": "1"}, {"b": 2}) == {
        "id": 1,
        "a": "1",
        "b": 2,
    }
    with pytest.raises(ParameterError, match="was"):
        bind_arguments(_sig(hello), {}, {"was": "x"}, {})


# --------------------------------------------------------------------------- inspect: scope


def test_scopes() -> None:
    assert Inspection().scope == "ARGS"
    assert Inspection("json").source == "JSON"
    put = Inspection("PUT", ["id"])
    assert put.source == "ARGS"
    assert put.applies_to("put") and not put.applies_to("GET")
    assert Inspection("FORM").applies_to("GET")
    with pytest.raises(ValueError, match="scope"):
        Inspection("BODY")


def _fails(inspection: Inspection, params: dict[str, Any]) -> ParameterError:
    with pytest.raises(ParameterError) as caught:
        inspection.check(params)
    assert caught.value.code == 400
    return caught.value


# --------------------------------------------------------------------------- required etc.


def test_required_and_ints_from_the_spec_example() -> None:
    inspection = Inspection("ARGS", ["id"], ints=["id"])
    assert inspection.check({"id": "7"}) == {"id": 7}
    error = _fails(inspection, {})
    assert error.param == "id" and error.detail == "parameter id is required"
    assert _fails(inspection, {"id": ""}).detail == "parameter id is required"
    assert _fails(inspection, {"id": "x"}).detail == "parameter id must be an integer"


def test_name_lists_may_be_comma_separated_strings() -> None:
    assert Inspection(ints="offset, limit").check({"offset": "1", "limit": "2"}) == {
        "offset": 1,
        "limit": 2,
    }


@pytest.mark.parametrize(
    ("rule", "given", "expected"),
    [
        ("ints", "-12", -12),
        ("ints", 12, 12),
        ("ints", 3.0, 3),
        ("floats", "1.5", 1.5),
        ("floats", "-2e3", -2000.0),
        ("floats", 3, 3.0),
        ("booleans", "yes", True),
        ("booleans", "Off", False),
        ("booleans", "1", True),
        ("booleans", "0", False),
        ("booleans", True, True),
        ("nones", "", None),
        ("nones", "x", "x"),
        ("lists", "a, b,c", ["a", "b", "c"]),
        ("lists", "", []),
        ("lists", ("a",), ["a"]),
        ("dicts", '{"a": 1}', {"a": 1}),
        ("dicts", {"a": 1}, {"a": 1}),
        ("strings", "text", "text"),
        ("emails", "hans@example.com", "hans@example.com"),
        ("uuids", "12345678-1234-5678-1234-567812345678", "12345678-1234-5678-1234-567812345678"),
        ("notags", "<b>hi</b>", "&lt;b&gt;hi&lt;/b&gt;"),
    ],
)
def test_conversions(rule: str, given: Any, expected: Any) -> None:
    assert Inspection(**{rule: ["a"]}).check({"a": given}) == {"a": expected}


@pytest.mark.parametrize(
    ("rule", "given", "words"),
    [
        ("ints", "1.5", "must be an integer"),
        ("ints", True, "must be an integer"),
        ("ints", "1_000", "must be an integer"),
        ("floats", "nan", "must be a number"),
        ("floats", "abc", "must be a number"),
        ("booleans", "maybe", "must be a boolean"),
        ("lists", {"a": 1}, "must be a list, not an object"),
        ("ints", ["1", "2"], "must be an integer, not a list"),  # a JSON array
        ("dicts", ["1"], "must be an object, not a list"),
        ("dicts", "[1]", "must be an object"),
        ("dicts", "{oops", "must be an object"),
        ("strings", 5, "must be a string"),
        ("emails", "not-an-email", "must be an email address"),
        ("emails", "a@b", "must be an email address"),
        ("uuids", "1234", "must be a UUID"),
    ],
)
def test_conversion_failures(rule: str, given: Any, words: str) -> None:
    error = _fails(Inspection(**{rule: ["a"]}), {"a": given})
    assert error.param == "a"
    assert error.detail == f"parameter a {words}"


def test_absent_and_none_values_are_only_checked_by_required() -> None:
    inspection = Inspection(ints=["a"], emails=["b"], c__gte=3)
    assert inspection.check({}) == {}
    assert inspection.check({"a": None, "b": None, "c": None}) == {}


def test_nones_then_ints_lets_empty_pass_as_none() -> None:
    inspection = Inspection(nones=["limit"], ints=["limit"])
    assert inspection.check({"limit": ""}) == {"limit": None}
    assert inspection.check({"limit": "5"}) == {"limit": 5}


def test_lists_then_ints_converts_each_item() -> None:
    assert Inspection(lists=["ids"], ints=["ids"]).check({"ids": "1,2,3"}) == {"ids": [1, 2, 3]}


def test_oneof_needs_at_least_one() -> None:
    inspection = Inspection(oneof=["email", "phone"])
    assert inspection.check({"phone": "1"}) == {}
    assert inspection.check({"email": "a", "phone": "1"}) == {}
    error = _fails(inspection, {"email": ""})
    assert error.detail == "one of parameters email, phone is required"


def test_manyof_names_go_together() -> None:
    inspection = Inspection(manyof=["lat", "lng"])
    assert inspection.check({}) == {}
    assert inspection.check({"lat": "1", "lng": "2"}) == {}
    error = _fails(inspection, {"lat": "1"})
    assert error.param == "lng"
    assert error.detail == "parameters lat, lng must be given together; missing lng"


def test_several_groups() -> None:
    inspection = Inspection(oneof=[["a", "b"], ["c", "d"]])
    assert inspection.check({"a": 1, "d": 1}) == {}
    _fails(inspection, {"a": 1})


# --------------------------------------------------------------------------- safes


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "< SCRIPT src=//x>",
        '<img src=x onerror="alert(1)">',
        "<svg/onload=alert(1)>",
        "javascript:alert(1)",
        "JaVa\tScRiPt:alert(1)",
        '" onmouseover="alert(1)',
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "%3Cscript%3E",
        "<iframe src=x>",
        "width: expression(alert(1))",
        "data:text/html;base64,xx",
    ],
)
def test_safes_rejects_xss(text: str) -> None:
    assert looks_unsafe(text)
    error = _fails(Inspection(safes=["q"]), {"q": text})
    assert error.detail == "parameter q contains unsafe markup"


@pytest.mark.parametrize(
    "text",
    ["hello world", "one = two", "x < y and y > z", "it's done", "email me: a@b.c", "Java script"],
)
def test_safes_accepts_plain_text(text: str) -> None:
    assert not looks_unsafe(text)
    assert Inspection(safes=["q"]).check({"q": text}) == {}


def test_safes_checks_list_items() -> None:
    _fails(Inspection(safes="q"), {"q": ["ok", "<script>"]})


# --------------------------------------------------------------------------- type specs


def test_type_specs_convert() -> None:
    inspection = Inspection(offset=int, prodtype=[int, str], ratio=float, flag=bool)
    converted = inspection.check({"offset": "3", "prodtype": "10", "ratio": "0.5", "flag": "no"})
    assert converted == {"offset": 3, "prodtype": 10, "ratio": 0.5, "flag": False}
    assert inspection.check({"prodtype": "book"}) == {"prodtype": "book"}
    assert _fails(inspection, {"offset": "x"}).detail == "parameter offset must be int"


def test_type_spec_any_of_failure_names_the_types() -> None:
    error = _fails(Inspection(a=[int, float]), {"a": "x"})
    assert error.detail == "parameter a must be int or float"


def test_type_spec_uuid_gives_a_uuid() -> None:
    text = "12345678-1234-5678-1234-567812345678"
    assert Inspection(u=uuid.UUID).check({"u": text}) == {"u": uuid.UUID(text)}


def test_type_spec_on_a_json_node_validates_only() -> None:
    inspection = Inspection(data___count=int)
    assert inspection.check({"data": {"count": 3}}) == {}
    assert _fails(inspection, {"data": {"count": "x"}}).detail == (
        "parameter data.count must be int"
    )


# --------------------------------------------------------------------------- operators


@pytest.mark.parametrize(
    ("rule", "ok", "bad", "words"),
    [
        ({"a__neq": 5}, 4, "5", "must not be 5"),
        ({"a__gt": 5}, "6", 5, "must be greater than 5"),
        ({"a__gte": 5}, "5", "4", "must be greater than or equal to 5"),
        ({"a__lt": 5}, 4.5, "5", "must be less than 5"),
        ({"a__lte": 5}, "5", 6, "must be less than or equal to 5"),
        ({"a__eq": "x"}, "x", "y", "must be 'x'"),
        ({"a": 3}, "3", "4", "must be 3"),
        ({"a__in": (1, 2)}, "2", "3", "must be one of [1, 2]"),
        ({"a__in": ("x", "y")}, "x", "z", "must be one of ['x', 'y']"),
        ({"a__notin": (1, 2)}, "3", 1, "must not be one of [1, 2]"),
        ({"a__between": (-4, -1)}, "-4", "0", "must be between -4 and -1"),
        ({"a__startswith": "ha"}, "hans", "roh", "must start with 'ha'"),
        ({"a__endswith": "ns"}, "hans", "roh", "must end with 'ns'"),
        ({"a__notstartwith": "ha"}, "roh", "hans", "must not start with 'ha'"),
        ({"a__notendwith": "ns"}, "roh", "hans", "must not end with 'ns'"),
        ({"a__contains": "an"}, "hans", "roh", "must contain 'an'"),
        ({"a__contains": 2}, [1, 2], [3], "must contain 2"),
        ({"a__notcontain": "an"}, "roh", "hans", "must not contain 'an'"),
    ],
)
def test_operators(rule: dict[str, Any], ok: Any, bad: Any, words: str) -> None:
    inspection = Inspection("ARGS", **rule)
    assert inspection.check({"a": ok}) == {}
    error = _fails(inspection, {"a": bad})
    assert error.param == "a"
    assert error.detail == f"parameter a {words}"


def test_spec_operator_example() -> None:
    inspection = Inspection("ARGS", a__gte=5, b__between=(-4, -1), c__in=(1, 2))
    assert inspection.check({"a": "5", "b": "-2", "c": "1"}) == {}
    _fails(inspection, {"a": "5", "b": "-2", "c": "9"})


def test_operators_see_converted_values() -> None:
    inspection = Inspection(ints=["a"], a__gte=10)
    assert inspection.check({"a": "12"}) == {"a": 12}
    _fails(inspection, {"a": "9"})


def test_comparing_text_with_a_number_fails_cleanly() -> None:
    error = _fails(Inspection(a__gt=5), {"a": "many"})
    assert error.detail == "parameter a must be a number"
    assert _fails(Inspection(a__gt=5), {"a": "4"}).detail == "parameter a must be greater than 5"


def test_in_checks_every_item_of_a_list() -> None:
    inspection = Inspection(lists=["tags"], tags__in=("a", "b"))
    assert inspection.check({"tags": "a,b"}) == {"tags": ["a", "b"]}
    _fails(inspection, {"tags": "a,c"})


@pytest.mark.parametrize(
    ("rule", "ok", "bad", "words"),
    [
        ({"a__len__between": (4, 8)}, "hans", "roh", "must be between 4 and 8"),
        ({"a__len__gte": 3}, [1, 2, 3], [1], "must be greater than or equal to 3"),
        ({"a__len__lt": 3}, "ab", "abc", "must be less than 3"),
        ({"a__len": 2}, "ab", "abc", "must be 2"),
    ],
)
def test_length_checks(rule: dict[str, Any], ok: Any, bad: Any, words: str) -> None:
    inspection = Inspection(**rule)
    assert inspection.check({"a": ok}) == {}
    assert _fails(inspection, {"a": bad}).detail == f"length of parameter a {words}"


def test_length_of_a_number_fails() -> None:
    _fails(Inspection(a__len__gte=1), {"a": 5})


def test_regular_expression_must_match() -> None:
    inspection = Inspection("ARGS", a=re.compile("^hans"))
    assert inspection.check({"a": "hansroh"}) == {}
    assert _fails(inspection, {"a": "roh hans"}).detail == "parameter a must match '^hans'"


def test_json_nodes() -> None:
    inspection = Inspection(data___scores__1__gte=10)
    assert inspection.check({"data": {"scores": [9, 12, 16]}}) == {}
    error = _fails(inspection, {"data": {"scores": [9, 8, 16]}})
    assert error.param == "data"
    assert error.detail == "parameter data.scores[1] must be greater than or equal to 10"
    # a node that is not there is not checked (use required for that)
    assert inspection.check({"data": {"scores": [1]}}) == {}
    assert inspection.check({"data": {}}) == {}


def test_json_nodes_in_json_strings_and_required_nodes() -> None:
    inspection = Inspection(required=["data___name"], data___scores__0__lt=5)
    assert inspection.check({"data": '{"name": "x", "scores": [1]}'}) == {}
    error = _fails(inspection, {"data": {"scores": [1]}})
    assert error.detail == "parameter data.name is required"


def test_deep_nodes_and_len() -> None:
    inspection = Inspection(a___b__0___c__len__gte=2)
    assert inspection.check({"a": {"b": [{"c": "xy"}]}}) == {}
    assert _fails(inspection, {"a": {"b": [{"c": "x"}]}}).detail == (
        "length of parameter a.b[0].c must be greater than or equal to 2"
    )


def test_bad_rules_fail_at_decoration_time() -> None:
    with pytest.raises(TypeError):
        Inspection(a__between=5)
    with pytest.raises(TypeError):
        Inspection(a__in=5)
    with pytest.raises(TypeError):
        Inspection(a__gte=re.compile("x"))
    with pytest.raises(TypeError):
        Inspection(a=lambda value: True)


def test_check_does_not_modify_the_given_params() -> None:
    params = {"a": "1", "b": "<i>"}
    assert Inspection(ints=["a"], notags=["b"]).check(params) == {"a": 1, "b": "&lt;i&gt;"}
    assert params == {"a": "1", "b": "<i>"}


def test_rules_are_compiled_once() -> None:
    inspection = Inspection("GET", ["id"], ints=["id"], id__gte=1, name=re.compile("x"))
    assert len(inspection._checkers) == 4
    assert "GET" in repr(inspection)


# --------------------------------------------------------------------------- misspelt rules


@pytest.mark.parametrize(
    ("rule", "named"),
    [
        ({"limit__gtee": 1}, "'__gtee'"),
        ({"limit__len__gtee": 1}, "'__gtee'"),
        ({"data___scores__1__gtee": 10}, "'__gtee'"),
        ({"required": ["limit__gtee"]}, "'__gtee'"),
    ],
)
def test_unknown_operator_is_refused_naming_the_operators(rule: dict, named: str) -> None:
    with pytest.raises(TypeError) as caught:
        Inspection(**rule)
    message = str(caught.value)
    assert f"unknown operator {named}" in message
    for operator in ("__gte", "__between", "__notcontain", "__len"):
        assert operator in message


@pytest.mark.parametrize(
    ("rule", "meant"),
    [
        ({"int": ["limit"]}, "ints"),
        ({"integer": "limit"}, "ints"),
        ({"requird": ["id"]}, "required"),
        ({"float": "lat, lng"}, "floats"),
        ({"string": ("name",)}, "strings"),
        ({"bool": ["flag"]}, "booleans"),
        ({"uuid": ["key"]}, "uuids"),
    ],
)
def test_misspelt_keyword_is_refused_naming_the_keywords(rule: dict, meant: str) -> None:
    with pytest.raises(TypeError) as caught:
        Inspection(**rule)
    message = str(caught.value)
    assert f"(did you mean {meant!r}?)" in message
    assert "required, ints, floats, emails, uuids, nones, lists" in message


def test_rules_that_only_look_like_keywords_stay_valid() -> None:
    inspection = Inspection(email=re.compile("@"), limit=5, offset=int, status=["a", "b"])
    assert inspection.check({"email": "a@b", "limit": "5", "offset": "3"}) == {"offset": 3}
    with pytest.raises(ParameterError):
        inspection.check({"email": "nobody"})
    assert Inspection(__token=1).check({"__token": "1"}) == {}


def test_unknown_scope_names_the_scopes() -> None:
    with pytest.raises(ValueError, match="scopes: ARGS, URL, FORM, JSON, DATA, GET"):
        Inspection("ARG")


def test_misspelt_rule_fails_when_the_app_is_defined() -> None:
    import atila

    app = atila.Atila(__name__)
    with pytest.raises(TypeError, match="unknown operator '__gtee'"):

        @app.route("/items")
        @app.inspect(ints=["limit"], limit__gtee=1)
        def items(was, limit=10):
            return "never"

    with pytest.raises(TypeError, match="did you mean 'ints'"):

        @app.route("/others")
        @app.inspect(int=["limit"])
        def others(was, limit=10):
            return "never"


# --------------------------------------------------------------------------- repeated parameters


def test_repeated_query_parameters_are_marked() -> None:
    assert type(parse_query("a=1&a=2")["a"]).__name__ == "Repeated"
    assert parse_query("a=1&a=2")["a"] == ["1", "2"]  # still a list
    assert type(merge_args({"a": "1"}, {"a": "2"}, {})["a"]).__name__ == "Repeated"


@pytest.mark.parametrize(
    "inspection",
    [
        Inspection(ints=["id"]),
        Inspection(floats=["id"]),
        Inspection(strings=["id"]),
        Inspection(dicts=["id"]),
        Inspection(id=int),
        Inspection(id__gte=1),
        Inspection(ints=["id"], id__gte=1),
        Inspection(id__in=(1, 2)),
        Inspection(id__len__lte=3),
    ],
)
def test_repeated_parameter_into_a_single_value_rule_says_so(inspection: Inspection) -> None:
    error = _fails(inspection, {"id": parse_query("id=5&id=6")["id"]})
    assert error.param == "id" and error.code == 400
    assert error.detail == "parameter id is given more than once (2 values)"


def test_repeated_parameter_declared_in_lists_checks_each_item() -> None:
    inspection = Inspection(lists=["id"], ints=["id"], id__gte=1)
    assert inspection.check({"id": parse_query("id=5&id=6")["id"]}) == {"id": [5, 6]}
    assert inspection.check({"id": "5,6"}) == {"id": [5, 6]}
    assert _fails(inspection, {"id": parse_query("id=5&id=0")["id"]}).detail == (
        "parameter id must be greater than or equal to 1"
    )
    assert _fails(inspection, {"id": parse_query("id=5&id=x")["id"]}).detail == (
        "parameter id[1] must be an integer"
    )


def test_repeated_parameters_through_the_app() -> None:
    import atila
    from skitai.testing import Client

    app = atila.Atila(__name__)

    @app.route("/items")
    @app.inspect(ints=["limit"], limit__gte=1)
    def items(was, limit=10):
        return was.API(next=limit + 1)

    @app.route("/item")
    @app.inspect(ints=["id"])
    def item(was, id):
        return was.API(id=id * 2)

    @app.route("/posted", methods=["POST"])
    @app.inspect(ints=["id"])
    def posted(was, id):
        return was.API(id=id)

    client = Client(app)
    assert client.get("/items?limit=5").json() == {"next": 6}
    for path, param in (("/items?limit=5&limit=6", "limit"), ("/item?id=1&id=2", "id")):
        response = client.get(path)
        assert response.status_code == 400
        assert response.json() == {
            "code": 400,
            "message": "Bad Request",
            "detail": f"parameter {param} is given more than once (2 values)",
            "param": param,
        }
    assert client.get("/items?limit=0").json()["detail"] == (
        "parameter limit must be greater than or equal to 1"
    )

    boundary = "b0undary"
    multipart = (
        "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="id"\r\n\r\n{n}\r\n'
            for n in (1, 2)
        )
        + f"--{boundary}--\r\n"
    )
    for body, content_type in (
        ("id=1&id=2", "application/x-www-form-urlencoded"),
        (multipart, f"multipart/form-data; boundary={boundary}"),
    ):
        response = client.post(
            "/posted", data=body.encode(), headers={"Content-Type": content_type}
        )
        assert response.status_code == 400, response.text
        assert response.json()["detail"] == "parameter id is given more than once (2 values)"
    assert client.post("/posted", data={"id": "7"}).json() == {"id": 7}


# --------------------------------------------------------------------------- JSON nesting


def test_deep_json_inside_a_parameter_is_a_400() -> None:
    deep = "[" * 5000 + "]" * 5000
    assert _fails(Inspection(dicts=["d"]), {"d": deep}).detail == (
        "parameter d is JSON nested deeper than 100 levels"
    )
    # a node rule reads such a value as absent instead of failing
    assert Inspection(d___a__gte=1).check({"d": deep}) == {}
    assert Inspection(dicts=["d"]).check({"d": '{"a": [[1]]}'}) == {"d": {"a": [[1]]}}
