"""Tests for analysis.versions: Nomad's go-version rules.

Expected values come from ENDPOINT.md §5 (strings run through go-version v1.6.0-v1.9.0) or are worked by hand
from go-version's ``version.go`` (``Compare``, ``comparePrereleases``, ``comparePart``); the rule used is
named next to each hand-worked case.
"""

from __future__ import annotations

import itertools
import random
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import versions
from analysis.versions import (
    MIN_WI_VERSION,
    Version,
    compare_versions,
    is_outdated,
    parse_version,
    version_sort_key,
)

# --- ENDPOINT.md §5: every listed string, with Nomad's verdict -------------------------------------------

OUTDATED = [
    "",
    "1.6.4",
    "1.6.10",
    "1.6.99",
    "v1.6.4",
    "1.6",
    "1",
    "0.12.0",
    "1.6.9.9",
    "1.6.4+ent",
    "1.5.3+ent",
    "1.6.2-dev",
    "1.6.4-ent",
    "1.7.0-A",
    "1.7.0-Beta1",
    "1.7.0-1",
    "1.7.0-0",
    "unknown",
    "1.7.0-beta_1",
    "1.7.0 ",
    " 1.7.0",
    # §11: strings seen in practice.
    "0.3.2dev",
    "v1.6.0+ent",
    "0.13.0-dev",
]

NOT_OUTDATED = [
    "1.7.0",
    "1.7.0+ent",
    "1.7.3",
    "v1.7.0",
    "1.7",
    "1.10.0",
    "2",
    "2.0.5",
    "1.7.0-beta.1",
    "1.7.0-beta.1+ent",
    "1.7.0-rc.1",
    "1.7.0-dev",
    "1.8.0-dev",
    "1.7.0-alpha",
    "1.7.0-a",
    "1.7.0beta1",
    "1.7.0.0",
    # §11: strings seen in practice.
    "1.7.5+ent",
    "1.7.8-dev",
    "1.7.2",
]


@pytest.mark.parametrize("value", OUTDATED)
def test_outdated_per_facts_table(value: str) -> None:
    assert is_outdated(value) is True


@pytest.mark.parametrize("value", NOT_OUTDATED)
def test_not_outdated_per_facts_table(value: str) -> None:
    assert is_outdated(value) is False


@pytest.mark.parametrize(
    ("value", "nomad_outdated"),
    # §5 "Python pitfall": packaging (PEP 440) gets every one of these the other way round.
    [("1.7.0-dev", False), ("1.7.0-A", True), ("1.7.0-Beta1", True), ("1.7.0-1", True)],
)
def test_packaging_disagreement_table(value: str, nomad_outdated: bool) -> None:
    assert is_outdated(value) is nomad_outdated


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA])
def test_missing_attribute_is_outdated(missing: object) -> None:
    assert parse_version(missing) is None  # type: ignore[arg-type]
    assert is_outdated(missing) is True  # type: ignore[arg-type]


def test_cut_off_comes_from_config() -> None:
    assert MIN_WI_VERSION == "1.7.0-a"
    assert is_outdated(parse_version("1.6.4")) is True
    assert is_outdated(parse_version("1.7.0-dev")) is False


# --- Parsing --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "segments", "prerelease", "metadata"),
    [
        ("1.7.0", (1, 7, 0), "", ""),
        ("v1", (1, 0, 0), "", ""),
        ("1.7", (1, 7, 0), "", ""),
        ("1.7.0.0", (1, 7, 0, 0), "", ""),
        ("007.010", (7, 10, 0), "", ""),
        ("1.7.5+ent", (1, 7, 5), "", "ent"),
        ("1.6.4-ent", (1, 6, 4), "ent", ""),
        ("1.7.0-beta.1+ent.2", (1, 7, 0), "beta.1", "ent.2"),
        ("0.3.2dev", (0, 3, 2), "dev", ""),  # the hyphen is optional before a letter
        ("1.7.0~rc1", (1, 7, 0), "~rc1", ""),
        ("1.7.0-1a", (1, 7, 0), "1a", ""),
        # `-?` is optional but tried first, so a doubled hyphen leaves one in the pre-release...
        ("1.7.0--5", (1, 7, 0), "-5", ""),
        # ...and a lone trailing hyphen is itself a pre-release (`[A-Za-z\-~]+` accepts "-").
        ("1.7.0-", (1, 7, 0), "-", ""),
        ("9223372036854775807.0.0", (2**63 - 1, 0, 0), "", ""),
    ],
)
def test_parse_fields(value: str, segments: tuple[int, ...], prerelease: str, metadata: str) -> None:
    assert parse_version(value) == Version(segments, prerelease, metadata, value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        " 1.7.0",
        "1.7.0 ",
        "1.7.0\n",  # Go's `$` is end of text; Python's `$` alone would accept this
        "unknown",
        "1.7.0-beta_1",
        "1..7",
        "1.7.",
        ".1.7",
        "v",
        "V1.7.0",
        "+ent",
        "1.7.0+",
        "1.7.0+ent+2",
        "1.7.0-beta..1",
        "1.7.0 +ent",
        "\uff11.\uff17.\uff10",  # fullwidth digits: the grammar is ASCII only
        "9223372036854775808.0.0",  # one past int64: ParseInt's range error fails NewVersion
        "1.99999999999999999999999",
        "1." + "9" * 5000,  # longer than Python's int() string limit: must still just fail
    ],
)
def test_parse_failures(value: str) -> None:
    assert parse_version(value) is None
    assert is_outdated(value) is True


def test_parse_rejects_non_strings() -> None:
    assert parse_version(1.7) is None  # type: ignore[arg-type]


def test_parse_is_cached_per_distinct_string() -> None:
    assert parse_version("1.7.3") is parse_version("1.7.3")


# --- Comparison: hand-worked ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.10.0", "1.9.0", 1),  # segments compare as numbers, not strings
        ("1.7.0-beta.2", "1.7.0-beta.10", -1),  # comparePart: two numeric parts compare by value
        # comparePrereleases pads the shorter list with "", and comparePart puts "" below a numeric part.
        ("1.7.0-beta", "1.7.0-beta.1", -1),
        ("1.7.0-rc.1", "1.7.0-beta.9", 1),  # first parts differ: "rc" > "beta" byte-wise
        ("1.7.0-A", "1.7.0-a", -1),  # byte-wise: 'A' (0x41) < 'a' (0x61)
        ("1.7.0", "1.7.0+ent", 0),  # metadata never compared
        ("1.7.0.0", "1.7.0", 0),  # different lengths: compared zero-padded
        ("1.7.0.1", "1.7.0", 1),
        ("1.7", "1.7.0", 0),  # parsing pads to three segments
        ("v1.7.0", "1.7.0", 0),
        ("1.7.0-rc.1", "1.7.0", -1),  # any pre-release < none, when segments are identical
        ("1.7.0-1", "1.7.0-a", -1),  # comparePart: numeric < non-numeric
        ("1.7.0beta1", "1.7.0-beta1", 0),  # glued and hyphenated spellings parse alike
        ("1.7.0-a.-1", "1.7.0-a.-2", 1),  # ParseInt accepts a sign: "-1" is the number -1 > -2
        ("2", "1.99.99", 1),
        ("0.3.2dev", "0.3.2", -1),
    ],
)
def test_compare_hand_worked(a: str, b: str, expected: int) -> None:
    assert compare_versions(a, b) == expected


def test_compare_accepts_version_objects_and_operators() -> None:
    old, new = parse_version("1.6.4"), parse_version("1.7.0")
    assert old is not None and new is not None
    assert compare_versions(old, "1.7.0") == -1
    assert old < new and old <= new and new > old and new >= old
    ent = parse_version("1.7.0+ent")
    assert ent is not None
    # Ordering follows go-version (equal); `==` compares fields (metadata differs).
    assert new <= ent and new >= ent and new != ent and new.compare(ent) == 0
    with pytest.raises(TypeError):
        assert new < "1.8.0"


@pytest.mark.parametrize(("a", "b", "bad"), [("nope", "1.7.0", "'nope'"), ("1.7.0", " 1.7.0", "' 1.7.0'")])
def test_compare_names_unparseable_string(a: str, b: str, bad: str) -> None:
    with pytest.raises(ValueError, match=re.escape(bad)):
        compare_versions(a, b)


def test_compare_rejects_none() -> None:
    with pytest.raises(ValueError, match="None"):
        compare_versions(None, "1.7.0")  # type: ignore[arg-type]


# --- Comparison: go-version quirks the facts file does not list -----------------------------------------


def test_quirk_segment_count_mismatch_ignores_prerelease() -> None:
    # Compare only reads the pre-release when both segment lists are identical, length included.
    assert compare_versions("1.7.0.0-A", "1.7.0") == 0
    assert compare_versions("1.7.0.0-A", "1.7.0-a") == 0
    assert is_outdated("1.7.0.0-A") is False
    assert is_outdated("1.7.0-A") is True


def test_quirk_missing_part_beats_alphanumeric_part() -> None:
    # comparePart("", x) is -1 for a numeric x but +1 otherwise, which closes a cycle.
    assert compare_versions("1.7.0-beta", "1.7.0-beta.1") == -1
    assert compare_versions("1.7.0-beta.1", "1.7.0-beta.x") == -1
    assert compare_versions("1.7.0-beta.x", "1.7.0-beta") == -1


def test_quirk_same_number_spelled_differently_is_less_both_ways() -> None:
    # Two numeric parts that differ as strings fall to `selfInt > otherInt`, else -1.
    assert compare_versions("1.7.0-01", "1.7.0-1") == -1
    assert compare_versions("1.7.0-1", "1.7.0-01") == -1


def test_quirk_int64_overflowing_part_is_greater_both_ways() -> None:
    # The part fails ParseInt (not numeric) yet Go reads its clamped value MaxInt64 in the last branch.
    big = "1.7.0-99999999999999999999"
    assert compare_versions(big, "1.7.0-a") == 1
    assert compare_versions("1.7.0-a", big) == 1
    assert is_outdated(big) is False


# --- Sort key -------------------------------------------------------------------------------------------

EXPECTED_ORDER = [
    None,
    "",
    "unknown",
    "0.3.2dev",
    "1.6.4",
    "1.7.0-A",
    "1.7.0-beta",
    "1.7.0-beta.2",
    "1.7.0-beta.10",
    "1.7.0-rc.1",
    # go-version calls these four equal; the raw string breaks the tie ('+' < '.' < 'v').
    "1.7.0",
    "1.7.0+ent",
    "1.7.0.0",
    "v1.7.0",
    "1.7.0.1",
    "1.9.0",
    "1.10.0",
]


def test_sorted_with_key() -> None:
    shuffled = EXPECTED_ORDER[1:]
    random.Random(7).shuffle(shuffled)
    assert sorted(shuffled, key=version_sort_key) == EXPECTED_ORDER[1:]
    assert sorted([*shuffled, None], key=version_sort_key) == EXPECTED_ORDER


def test_dataframe_sort_values() -> None:
    shuffled = EXPECTED_ORDER.copy()
    random.Random(3).shuffle(shuffled)
    # object dtype keeps None as None (pandas 3 would store it as NaN in a str column).
    df = pd.DataFrame({"version": pd.Series(shuffled, dtype=object), "n": range(len(shuffled))})
    got = df.sort_values("version", key=version_sort_key)
    assert got["version"].tolist() == EXPECTED_ORDER
    descending = df.sort_values("version", key=version_sort_key, ascending=False)
    assert descending["version"].tolist() == EXPECTED_ORDER[::-1]


@pytest.mark.parametrize("dtype", ["object", "string", "str"])
def test_sort_key_handles_each_missing_marker(dtype: str) -> None:
    series = pd.Series(["1.10.0", None, "", "1.9.0", None], index=[10, 20, 30, 40, 50], dtype=dtype)
    ranks = version_sort_key(series)
    assert ranks.dtype == "int64"
    assert ranks.index.tolist() == [10, 20, 30, 40, 50]
    assert ranks.tolist() == [3, 0, 1, 2, 0]
    assert series.sort_values(key=version_sort_key).index.tolist()[2:] == [30, 40, 10]


def test_sort_key_on_index() -> None:
    frame = pd.DataFrame({"n": [1, 2, 3]}, index=pd.Index(["1.10.0", "1.9.0", "junk"], name="version"))
    assert frame.sort_index(key=version_sort_key).index.tolist() == ["junk", "1.9.0", "1.10.0"]


def test_sort_key_parses_each_distinct_value_once() -> None:
    versions._str_key.cache_clear()
    df = pd.DataFrame({"version": ["1.6.4", "1.7.0", "", "1.10.0"] * 5_000})
    df.sort_values("version", key=version_sort_key)
    assert versions._str_key.cache_info().misses == 4


def test_sort_key_of_non_string_values_is_unparseable_not_a_crash() -> None:
    assert version_sort_key(pd.Series(["1.7.0", 1.7, None], dtype=object)).tolist() == [2, 1, 0]


# --- Property tests -------------------------------------------------------------------------------------

_ALNUM_TAGS = ["a", "A", "alpha", "beta", "Beta", "rc", "dev", "ent", "beta1", "x-y", "~", "z~", "RC2"]
_TAIL = "0123456789ABCZabcz-~"


@st.composite
def go_versions(draw: st.DrawFn) -> str:
    """Any string go-version accepts, quirky corners included (leading zeros, 4+ segments, odd parts)."""
    segments = draw(st.lists(st.integers(0, 12) | st.integers(0, 2**63 - 1), min_size=1, max_size=5))
    text = draw(st.sampled_from(["", "v"])) + ".".join(draw(st.sampled_from(["", "0"])) + str(s) for s in segments)
    if draw(st.booleans()):
        part = st.sampled_from(_ALNUM_TAGS) | st.integers(0, 20).map(str) | st.text(_TAIL, min_size=1, max_size=4)
        first = draw(st.sampled_from(_ALNUM_TAGS) | st.integers(0, 20).map(str))
        rest = draw(st.lists(part, max_size=3))
        separator = "-" if first[0].isdigit() else draw(st.sampled_from(["-", ""]))
        text += separator + ".".join([first, *rest])
    if draw(st.booleans()):
        text += "+" + draw(st.sampled_from(["ent", "1", "ent.2", "x-y"]))
    return text


@st.composite
def regular_versions(draw: st.DrawFn) -> str:
    """Versions on which go-version's comparison is a consistent total preorder.

    That is: at most three segments (all pad to the same length), canonical int64 numbers in pre-releases,
    and nothing but numbers after the first pre-release part (so a prefix is never extended by a
    non-numeric part: the cycle above).
    """
    segments = draw(st.lists(st.integers(0, 12), min_size=1, max_size=3))
    text = draw(st.sampled_from(["", "v"])) + ".".join(map(str, segments))
    if draw(st.booleans()):
        first = draw(st.sampled_from(_ALNUM_TAGS) | st.integers(0, 20).map(str))
        rest = draw(st.lists(st.integers(0, 12).map(str), max_size=3))
        separator = "-" if first[0].isdigit() else draw(st.sampled_from(["-", ""]))
        text += separator + ".".join([first, *rest])
    if draw(st.booleans()):
        text += "+" + draw(st.sampled_from(["ent", "1"]))
    return text


def _order(key_a: tuple[object, ...], key_b: tuple[object, ...]) -> int:
    """-1/0/1 of two sort keys, ignoring the raw-string tie-break (the last element)."""
    a, b = key_a[:-1], key_b[:-1]
    return (a > b) - (a < b)


_PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


@_PROPERTY_SETTINGS
@given(go_versions())
def test_property_every_generated_string_parses_and_is_reflexive(value: str) -> None:
    parsed = parse_version(value)
    assert parsed is not None and len(parsed.segments) >= 3
    assert compare_versions(value, value) == 0
    assert is_outdated(value) == (compare_versions(value, MIN_WI_VERSION) < 0)


@_PROPERTY_SETTINGS
@given(regular_versions(), regular_versions())
def test_property_antisymmetric(a: str, b: str) -> None:
    assert compare_versions(a, b) == -compare_versions(b, a)


@_PROPERTY_SETTINGS
@given(regular_versions(), regular_versions(), regular_versions())
def test_property_transitive(a: str, b: str, c: str) -> None:
    ab, bc, ac = compare_versions(a, b), compare_versions(b, c), compare_versions(a, c)
    if ab <= 0 and bc <= 0:
        assert ac <= 0
        if ab < 0 or bc < 0:
            assert ac < 0
    if ab == 0 and bc == 0:
        assert ac == 0


@_PROPERTY_SETTINGS
@given(regular_versions(), regular_versions())
def test_property_sort_key_agrees_with_compare(a: str, b: str) -> None:
    assert _order(version_sort_key(a), version_sort_key(b)) == compare_versions(a, b)


def _int64(part: str) -> bool | None:
    """True for a part Go's ParseInt accepts, False for a non-number, None for an int64-overflowing number."""
    if re.fullmatch(r"[+-]?[0-9]+", part) is None:
        return False
    return -(2**63) <= int(part) < 2**63


def _go_compare_is_regular(a: Version, b: Version) -> bool:
    """False exactly where go-version's comparison of a and b hits one of the quirks tested above."""
    width = max(len(a.segments), len(b.segments))
    if [*a.segments, *[0] * (width - len(a.segments))] != [*b.segments, *[0] * (width - len(b.segments))]:
        return True
    if a.segments != b.segments:
        return not (a.prerelease or b.prerelease)
    if not a.prerelease or not b.prerelease:
        return True
    mine, theirs = a.prerelease.split("."), b.prerelease.split(".")
    for i in range(max(len(mine), len(theirs))):
        x, y = (mine[i] if i < len(mine) else None), (theirs[i] if i < len(theirs) else None)
        if x == y:
            continue
        if x is None or y is None:
            longer = x or y  # one side ran out of parts; the other's next part decides
            return longer is not None and _int64(longer) is True
        if _int64(x) is None or _int64(y) is None:
            return False
        return not (_int64(x) and _int64(y) and int(x) == int(y))
    return True


@_PROPERTY_SETTINGS
@given(go_versions(), go_versions(), st.booleans())
def test_property_sort_key_agrees_with_compare_wherever_go_is_regular(a: str, b: str, same_segments: bool) -> None:
    va, vb = parse_version(a), parse_version(b)
    assert va is not None and vb is not None
    if same_segments and vb.prerelease:
        # Reuse a's segments so that the pre-release rules, where the quirks live, get exercised.
        b = ".".join(map(str, va.segments)) + "-" + vb.prerelease
        vb = parse_version(b)
        assert vb is not None
    if _go_compare_is_regular(va, vb):
        assert _order(version_sort_key(a), version_sort_key(b)) == compare_versions(a, b)


@_PROPERTY_SETTINGS
@given(st.lists(regular_versions(), max_size=12))
def test_property_sorting_by_key_is_non_decreasing(values: list[str]) -> None:
    ordered = sorted(values, key=version_sort_key)
    for lower, higher in itertools.pairwise(ordered):
        assert compare_versions(lower, higher) <= 0


@settings(max_examples=100, deadline=None)  # builds a DataFrame per example: the slowest test here
@given(st.lists(go_versions() | st.sampled_from(["", "junk", " 1.7.0"]), max_size=12), st.randoms())
def test_property_sort_key_is_a_deterministic_total_order(values: list[str], rnd: random.Random) -> None:
    # Holds even where go-version's compare cycles: the key never depends on the input order.
    expected = sorted(values, key=version_sort_key)
    shuffled = values.copy()
    rnd.shuffle(shuffled)
    assert sorted(shuffled, key=version_sort_key) == expected
    frame = pd.DataFrame({"version": pd.Series([*shuffled, None], dtype=object)})
    assert frame.sort_values("version", key=version_sort_key)["version"].tolist() == [None, *expected]
