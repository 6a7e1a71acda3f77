"""Nomad's version rules: a faithful Python port of ``hashicorp/go-version`` (``NewVersion`` + ``Compare``).

Nomad lists a client as *outdated* for Vault workload identities when its ``nomad.version`` attribute fails
``version.NewVersion`` or is ``LessThan("1.7.0-a")`` (facts file ENDPOINT.md §4.2 and §5). PEP 440 tools
(``packaging``) disagree with Nomad on strings such as ``1.7.0-dev`` and ``1.7.0-A``, so this module
re-implements go-version's grammar and comparison instead, quirks included. The rules were checked against
go-version's ``version.go`` (its ``Compare``, ``comparePrereleases`` and ``comparePart`` are unchanged from
v1.3.0 to v1.9.0, the versions Nomad pins):

* Grammar: an optional ``v``, dot-separated decimal segments (each must fit an int64, padded to at least
  three), then an optional pre-release (``-`` + something starting with a digit, or an optional ``-`` +
  something starting with a letter, ``-`` or ``~``), then an optional ``+metadata``. The whole string must
  match: no surrounding whitespace.
* Metadata never takes part in a comparison.
* When both segment lists are identical (same values, same length), the pre-release decides: none beats any;
  otherwise dot-separated parts are compared in turn. A part that Go's ``strconv.ParseInt`` accepts is numeric
  (this includes ``-5``); numeric < non-numeric; numbers compare by value; other parts byte-wise.

Quirks of the Go code that this module reproduces on purpose:

* Segment lists of different lengths are compared with zero padding and **the pre-release is then ignored**:
  ``1.7.0.0-A`` equals ``1.7.0``, so it is *not* outdated although ``1.7.0-A`` is.
* A missing pre-release part is less than a numeric part but **greater than a non-numeric one**:
  ``1.7.0-beta < 1.7.0-beta.1`` but ``1.7.0-beta > 1.7.0-beta.x``; with ``beta.1 < beta.x`` that is a cycle.
* Numeric parts with the same value but different spelling (``01`` and ``1``) are each *less* than the other.
* A digit-only part too large for int64 counts as non-numeric, and against another non-numeric part it can
  be *greater* in both directions (Go falls back to the clamped ``ParseInt`` value).

So ``compare_versions`` is not a total order in general. :func:`version_sort_key` therefore sorts by a
separate total order that agrees with ``compare_versions`` everywhere the Go comparison is itself consistent,
and breaks the remaining ties by the raw string.

Examples:
    >>> is_outdated("1.6.4+ent"), is_outdated("1.7.0-beta.1"), is_outdated("1.7.0-A"), is_outdated("")
    (True, False, True, True)
    >>> compare_versions("1.10.0", "1.9.0"), compare_versions("1.7.0", "v1.7.0+ent")
    (1, 0)
    >>> sorted(["1.10.0", "junk", "1.7.0-rc.1", "1.9.2"], key=version_sort_key)
    ['junk', '1.7.0-rc.1', '1.9.2', '1.10.0']
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import pandas as pd

from analysis.config import MIN_WI_VERSION

if TYPE_CHECKING:
    from collections.abc import Hashable

__all__ = [
    "MIN_WI_VERSION",
    "Version",
    "compare_versions",
    "is_outdated",
    "parse_version",
    "version_sort_key",
]

# go-version's VersionRegexpRaw (unchanged v1.3.0 to v1.9.0). Go's RE2 uses leftmost-first submatch semantics,
# the same as Python's backtracking engine, so the captured groups agree. `fullmatch` stands in for Go's
# `^...$`: Python's `$` would also accept a trailing newline, which Go rejects.
_VERSION_RE = re.compile(
    r"v?([0-9]+(\.[0-9]+)*?)"
    r"(-([0-9]+[0-9A-Za-z\-~]*(\.[0-9A-Za-z\-~]+)*)|(-?([A-Za-z\-~]+[0-9A-Za-z\-~]*(\.[0-9A-Za-z\-~]+)*)))?"
    r"(\+([0-9A-Za-z\-~]+(\.[0-9A-Za-z\-~]+)*))??",
    re.ASCII,
)
_INT64_MAX = 2**63 - 1
_INT64_MIN = -(2**63)
_GO_INT_RE = re.compile(r"[+-]?[0-9]+", re.ASCII)

# A scalar's sort key: (group, order key, raw string), group 0 = missing, 1 = unparseable, 2 = parsed.
_SortKey: TypeAlias = tuple[int, tuple[Any, ...], str]
_MISSING_KEY: _SortKey = (0, (), "")


def _go_parse_int(text: str) -> tuple[int, bool]:
    """Mimic Go's ``strconv.ParseInt(text, 10, 64)``: the value Go returns, and whether ``err`` is nil.

    On a range error Go still returns the clamped value, and ``comparePart`` reads it, so that is kept too.
    """
    if not _GO_INT_RE.fullmatch(text):
        return 0, False
    negative = text[0] == "-"
    digits = text.lstrip("+-").lstrip("0")
    # Checking the length first keeps int() away from Python's limit on very long digit strings.
    if len(digits) > 19:
        return (_INT64_MIN if negative else _INT64_MAX), False
    value = -int(digits or "0") if negative else int(digits or "0")
    if value > _INT64_MAX:
        return _INT64_MAX, False
    if value < _INT64_MIN:
        return _INT64_MIN, False
    return value, True


def _compare_part(mine: str, other: str) -> int:
    """One pre-release part against another, exactly as go-version's ``comparePart`` (quirks and all)."""
    if mine == other:
        return 0
    mine_int, mine_numeric = _go_parse_int(mine)
    other_int, other_numeric = _go_parse_int(other)
    # An empty string here means "this pre-release has run out of parts".
    if mine == "":
        return -1 if other_numeric else 1
    if other == "":
        return 1 if mine_numeric else -1
    if mine_numeric != other_numeric:
        return -1 if mine_numeric else 1
    if not mine_numeric and mine > other:
        return 1
    # Reached by two numbers, and by two non-numbers with mine < other, where Go still compares the
    # (usually zero) ParseInt results: that is what makes an int64-overflowing part "greater" both ways.
    return 1 if mine_int > other_int else -1


def _compare_prereleases(mine: str, other: str) -> int:
    if mine == other:
        return 0
    mine_parts = mine.split(".")
    other_parts = other.split(".")
    for i in range(max(len(mine_parts), len(other_parts))):
        result = _compare_part(
            mine_parts[i] if i < len(mine_parts) else "",
            other_parts[i] if i < len(other_parts) else "",
        )
        if result:
            return result
    return 0


@dataclass(frozen=True, slots=True)
class Version:
    """A parsed go-version version.

    ``==`` compares the fields; ``<``, ``<=``, ``>`` and ``>=`` follow go-version's ``Compare`` (so ``1.7.0``
    and ``1.7.0+ent`` are ``<=`` each other yet not ``==``; use :meth:`compare` for go-version's ``Equal``).

    Attributes:
        segments: The numeric segments as written, padded with zeros to at least three.
        prerelease: The pre-release without its leading ``-`` (``""`` when there is none).
        metadata: The build metadata after ``+`` (``""`` when there is none).
        original: The string that was parsed.

    Examples:
        >>> v = parse_version("v1.7.0-beta.1+ent")
        >>> v.segments, v.prerelease, v.metadata, v.original
        ((1, 7, 0), 'beta.1', 'ent', 'v1.7.0-beta.1+ent')
        >>> v < parse_version("1.7.0")
        True
    """

    segments: tuple[int, ...]
    prerelease: str
    metadata: str
    original: str

    def compare(self, other: Version) -> int:
        """Return -1, 0 or 1 as this version is older than, equal to or newer than ``other``.

        Examples:
            >>> parse_version("1.7.0.0").compare(parse_version("1.7"))
            0
        """
        if self.segments == other.segments:
            if self.prerelease == other.prerelease:
                return 0
            if not self.prerelease:
                return 1
            if not other.prerelease:
                return -1
            return _compare_prereleases(self.prerelease, other.prerelease)
        # Different values or a different number of segments: compare as if zero-padded, and (as go-version
        # does) never look at the pre-release in this branch.
        width = max(len(self.segments), len(other.segments))
        mine = self.segments + (0,) * (width - len(self.segments))
        theirs = other.segments + (0,) * (width - len(other.segments))
        return (mine > theirs) - (mine < theirs)

    # Returning NotImplemented for other types lets `Version("...") < "1.7.0"` raise a plain TypeError.
    def __lt__(self, other: object) -> bool:
        return self.compare(other) < 0 if isinstance(other, Version) else NotImplemented

    def __le__(self, other: object) -> bool:
        return self.compare(other) <= 0 if isinstance(other, Version) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return self.compare(other) > 0 if isinstance(other, Version) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return self.compare(other) >= 0 if isinstance(other, Version) else NotImplemented


@functools.lru_cache(maxsize=65536)
def _parse(text: str) -> Version | None:
    match = _VERSION_RE.fullmatch(text)
    if match is None:
        return None
    segments: list[int] = []
    for digits in match.group(1).split("."):
        value, ok = _go_parse_int(digits)
        if not ok:  # int64 overflow: NewVersion returns "error parsing version"
            return None
        segments.append(value)
    segments.extend([0] * (3 - len(segments)))
    return Version(
        segments=tuple(segments),
        prerelease=match.group(7) or match.group(4) or "",
        metadata=match.group(10) or "",
        original=text,
    )


def parse_version(s: str | None) -> Version | None:
    """Parse ``s`` as Nomad does, or return ``None`` where ``version.NewVersion`` would fail.

    Missing values (``None``, NaN, ``pd.NA``) and any other non-string also give ``None``. Results are cached
    per distinct string.

    Examples:
        >>> parse_version("1.7")
        Version(segments=(1, 7, 0), prerelease='', metadata='', original='1.7')
        >>> parse_version("0.3.2dev").prerelease
        'dev'
        >>> parse_version(" 1.7.0") is None, parse_version(None) is None
        (True, True)
    """
    if not isinstance(s, str):
        return None
    return _parse(s)


def _coerce(value: str | Version) -> Version:
    if isinstance(value, Version):
        return value
    parsed = parse_version(value)
    if parsed is None:
        raise ValueError(f"not a version go-version can parse: {value!r}")
    return parsed


def compare_versions(a: str | Version, b: str | Version) -> int:
    """Compare two versions with go-version's ``Compare``: -1 if ``a`` is older, 0 if equal, 1 if newer.

    Raises:
        ValueError: ``a`` or ``b`` is not parseable; the message quotes the offending value.

    Examples:
        >>> compare_versions("1.7.0-beta.2", "1.7.0-beta.10")
        -1
        >>> compare_versions("1.7.0-rc.1", parse_version("1.7.0-beta.9"))
        1
        >>> compare_versions("1.7.0", "latest")
        Traceback (most recent call last):
        ...
        ValueError: not a version go-version can parse: 'latest'
    """
    return _coerce(a).compare(_coerce(b))


def is_outdated(s: str | Version | None) -> bool:
    """Whether Nomad lists a client whose ``nomad.version`` is ``s`` among the ``OutdatedNodes``.

    True when ``s`` does not parse (empty, missing, whitespace, garbage) or is older than
    :data:`MIN_WI_VERSION` (``1.7.0-a``, which every 1.7.0 pre-release with a lowercase tag passes).

    Examples:
        >>> [is_outdated(v) for v in ["1.6.9.9", "1.7.0-dev", "1.7.0-1", "1.7.0.0", "unknown", None]]
        [True, False, True, False, True, True]
    """
    parsed = s if isinstance(s, Version) else parse_version(s)
    return parsed is None or parsed.compare(_min_wi_version()) < 0


@functools.cache
def _min_wi_version() -> Version:
    return _coerce(MIN_WI_VERSION)


def _part_key(part: str) -> tuple[int, int, str]:
    value, numeric = _go_parse_int(part)
    return (0, value, part) if numeric else (1, 0, part)


def _version_key(parsed: Version) -> tuple[Any, ...]:
    segments = list(parsed.segments)
    while segments and segments[-1] == 0:  # 1.7.0.0 and 1.7 must tie, as they do in go-version
        segments.pop()
    # A shorter pre-release sorts first when it is a prefix of a longer one (beta < beta.1 < beta.x): Go
    # agrees when the next part is numeric and is cyclic otherwise, so semver's answer is taken.
    pre = tuple(_part_key(part) for part in parsed.prerelease.split(".")) if parsed.prerelease else ()
    return (tuple(segments), not parsed.prerelease, pre)


@functools.lru_cache(maxsize=65536)
def _str_key(text: str) -> _SortKey:
    parsed = _parse(text)
    return (1, (), text) if parsed is None else (2, _version_key(parsed), text)


def _is_missing(value: object) -> bool:
    # NaN (a float, numpy's included) is the only missing marker that is not a singleton.
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _scalar_key(value: object) -> _SortKey:
    if isinstance(value, str):
        return _str_key(value)
    if isinstance(value, Version):
        return (2, _version_key(value), value.original)
    if _is_missing(value):
        return _MISSING_KEY
    # Go only ever sees strings; anything else (a float from a badly typed CSV, say) is unparseable.
    return (1, (), repr(value))


def version_sort_key(
    values: pd.Series | pd.Index | str | Version | None,
) -> pd.Series | pd.Index | tuple[Any, ...]:
    """A sort key in go-version order, for ``sorted(key=...)`` and for pandas ``sort_values(key=...)``.

    The order is total and deterministic: missing values (``None``, NaN, ``pd.NA``) first, then unparseable
    strings (``""``, ``"unknown"``, ...) by raw string, since Nomad counts them as outdated and they are the
    oldest risk; then parsed versions, oldest first. Versions that go-version calls equal (``1.7.0``,
    ``v1.7.0``, ``1.7.0+ent``, ``1.7.0.0``) are ordered by their raw string. Where go-version's own comparison
    is inconsistent (see the module notes), this key follows semver's answer.

    With pandas the key is the rank of each value among the distinct values (an ``int64`` Series or Index
    aligned with the input), so ``na_position`` has no effect: missing values always come first. Each distinct
    string is parsed once.

    Args:
        values: A pandas Series or Index (as pandas passes it), or a single value.

    Returns:
        Integer ranks for pandas input, else a tuple that compares in the same order.

    Examples:
        >>> df = pd.DataFrame({"version": ["1.10.0", None, "1.7.0-beta.1", "", "1.6.4"]})
        >>> df.sort_values("version", key=version_sort_key).index.tolist()
        [1, 3, 4, 2, 0]
        >>> version_sort_key("1.7.0") < version_sort_key("1.7.0+ent") < version_sort_key("1.7.1")
        True
    """
    if not isinstance(values, pd.Series | pd.Index):
        return _scalar_key(values)
    missing = pd.isna(values)
    key_of: dict[Hashable, _SortKey] = {}
    for value, is_na in zip(values, missing, strict=True):
        if not is_na and value not in key_of:
            key_of[value] = _scalar_key(value)
    # Rank 0 is kept for missing values, which NaN's inequality to itself keeps out of any dict.
    rank = {key: i for i, key in enumerate(sorted(set(key_of.values())), start=1)}
    ranks = [0 if is_na else rank[key_of[value]] for value, is_na in zip(values, missing, strict=True)]
    if isinstance(values, pd.Index):
        return pd.Index(ranks, dtype="int64", name=values.name)
    return pd.Series(ranks, index=values.index, name=values.name, dtype="int64")
