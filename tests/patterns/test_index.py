"""PatternIndex agrees with the reference matcher, on random patterns and events too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cloudlet.errors import InvalidEventPattern
from cloudlet.patterns import EventPattern, PatternIndex

# -- random events and patterns over a small vocabulary, so that they often meet ---------------

KEYS = ["a", "b", "c", "a.b"]
STRINGS = ["", "a", "ab", "abc", "b", "ba", "A", "AB", "x*y", "10.0.0.1", "10.0.1.7", "::1", "2001:db8::1"]
NUMBERS = [-5, -1, 0, 0.5, 1, 2, 2.0, 3.25, 100, 5_000_000_001]

scalars = st.one_of(
    st.sampled_from(STRINGS),
    st.sampled_from(NUMBERS),
    st.booleans(),
    st.none(),
)


def _event_values(depth: int) -> st.SearchStrategy[Any]:
    if depth <= 0:
        return scalars
    inner = _event_values(depth - 1)
    return st.one_of(
        scalars,
        st.lists(
            st.one_of(scalars, st.dictionaries(st.sampled_from(KEYS[:3]), inner, max_size=3)), max_size=3
        ),
        st.dictionaries(st.sampled_from(KEYS[:3]), inner, max_size=3),
    )


events = st.dictionaries(st.sampled_from(KEYS[:3]), _event_values(2), max_size=3)

strings = st.sampled_from(STRINGS)
numbers = st.sampled_from(NUMBERS)
wildcards = st.sampled_from(["*", "a*", "*b", "a*c", "*b*", "x\\*y", "", "ab"])
match_expressions = st.one_of(
    strings,
    numbers,
    st.booleans(),
    st.none(),
    st.builds(lambda s: {"prefix": s}, strings),
    st.builds(lambda s: {"prefix": {"equals-ignore-case": s}}, strings),
    st.builds(lambda s: {"suffix": s}, strings),
    st.builds(lambda s: {"suffix": {"equals-ignore-case": s}}, strings),
    st.builds(lambda s: {"equals-ignore-case": s}, strings),
    st.builds(lambda s: {"wildcard": s}, wildcards),
    st.builds(lambda b: {"exists": b}, st.booleans()),
    st.builds(lambda c: {"cidr": c}, st.sampled_from(["10.0.0.0/24", "10.0.0.0/8", "::/0", "2001:db8::/32"])),
    st.builds(lambda v: {"anything-but": v}, st.one_of(strings, numbers)),
    st.builds(lambda v: {"anything-but": v}, st.lists(strings, min_size=1, max_size=3)),
    st.builds(lambda v: {"anything-but": v}, st.lists(numbers, min_size=1, max_size=3)),
    st.builds(lambda v: {"anything-but": {"prefix": v}}, st.sampled_from(["a", "b", "1"])),
    st.builds(lambda v: {"anything-but": {"suffix": v}}, st.sampled_from(["a", "b", "1"])),
    st.builds(
        lambda v: {"anything-but": {"equals-ignore-case": v}}, st.lists(strings, min_size=1, max_size=2)
    ),
    st.builds(lambda v: {"anything-but": {"wildcard": v}}, wildcards),
    st.builds(lambda op, n: {"numeric": [op, n]}, st.sampled_from(["<", "<=", "=", ">", ">="]), numbers),
    st.builds(
        lambda lo, hi, a, b: {"numeric": [a, lo, b, lo + hi]},
        st.sampled_from([-5, 0, 0.5, 1]),
        st.sampled_from([0.5, 1, 3, 200]),
        st.sampled_from([">", ">="]),
        st.sampled_from(["<", "<="]),
    ),
)


def _pattern_objects(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    field = st.lists(match_expressions, min_size=1, max_size=3)
    if depth <= 0:
        return st.dictionaries(st.sampled_from(KEYS), field, min_size=1, max_size=3)
    inner = _pattern_objects(depth - 1)
    obj = st.dictionaries(st.sampled_from(KEYS), st.one_of(field, inner), min_size=1, max_size=3)
    with_or = st.builds(
        lambda base, alts: {**base, "$or": alts}, obj, st.lists(inner, min_size=2, max_size=3)
    )
    return st.one_of(obj, with_or)


patterns = _pattern_objects(2)


def _valid(pattern: dict[str, Any]) -> bool:
    try:
        EventPattern(pattern)
    except InvalidEventPattern:
        return False
    return True


def check_index_against_reference(
    pattern_list: list[dict[str, Any]], event_list: list[dict[str, Any]], data: st.DataObject
) -> None:
    valid = [p for p in pattern_list if _valid(p)]
    assume(valid)
    named = {f"rule-{n}": EventPattern(p) for n, p in enumerate(valid)}
    index = PatternIndex()
    for name, pattern in named.items():
        index.add(name, pattern.source)
    for event in event_list:
        expected = {name for name, pattern in named.items() if pattern.matches(event)}
        assert index.match(event) == expected, (event, valid)
    # incremental removal leaves exactly the others
    removed = data.draw(st.sets(st.sampled_from(sorted(named))))
    for name in removed:
        index.remove(name)
    for event in event_list:
        expected = {name for name, pattern in named.items() if name not in removed and pattern.matches(event)}
        assert index.match(event) == expected, (event, valid, removed)


_inputs = (st.lists(patterns, min_size=1, max_size=8), st.lists(events, min_size=1, max_size=5), st.data())


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(*_inputs)
def test_index_agrees_with_reference(
    pattern_list: list[dict[str, Any]], event_list: list[dict[str, Any]], data: st.DataObject
) -> None:
    check_index_against_reference(pattern_list, event_list, data)


@pytest.mark.slow
@pytest.mark.timeout(900)
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(*_inputs)
def test_index_agrees_with_reference_many(
    pattern_list: list[dict[str, Any]], event_list: list[dict[str, Any]], data: st.DataObject
) -> None:
    check_index_against_reference(pattern_list, event_list, data)


def test_add_replace_remove() -> None:
    index = PatternIndex()
    index.add("a", {"source": ["x"]})
    index.add("b", {"source": ["x"], "detail": {"n": [{"numeric": [">", 1]}]}})
    event = {"source": "x", "detail": {"n": 5}}
    assert index.match(event) == {"a", "b"}
    index.add("a", {"source": ["y"]})  # replaces
    assert index.match(event) == {"b"}
    index.remove("b")
    assert index.match(event) == set()
    index.remove("b")  # missing names are ignored
    index.remove("a")
    assert len(index) == 0
    assert not index._root.fields and not index._root.absent  # nothing left behind


def test_same_pattern_two_names() -> None:
    index = PatternIndex()
    index.add("a", '{"source": [{"prefix": "x"}]}')
    index.add("b", '{"source": [{"prefix": "x"}]}')
    index.remove("a")
    assert index.match({"source": "xy"}) == {"b"}


def test_many_rules_only_matching_names() -> None:
    index = PatternIndex()
    for n in range(2000):
        index.add(
            f"r{n}", {"source": [f"app.{n}"], "detail": {"amount": [{"numeric": [">=", n, "<", n + 10]}]}}
        )
    assert index.match({"source": "app.7", "detail": {"amount": 12}}) == {"r7"}
    assert index.match({"source": "app.7", "detail": {"amount": 17}}) == set()


CASES = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "cases" / "patterns.json"


@pytest.mark.skipif(
    not CASES.exists(), reason="the AWS-recorded cases folder ../shared/conformance is absent"
)
def test_index_agrees_on_recorded_cases() -> None:
    cases = [c for c in json.loads(CASES.read_text()) if c["expect"] in ("match", "no_match")]
    index = PatternIndex()
    for case in cases:
        index.add(case["name"], case["pattern_text"])
    for case in cases:
        assert (case["name"] in index.match(case["event_text"])) is (case["expect"] == "match"), case["name"]
