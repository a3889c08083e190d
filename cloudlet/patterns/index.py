"""`PatternIndex`: many patterns compiled into one automaton, walked once per event.

The design follows aws/event-ruler's documented approach (no code of it is used):

* Every branch of every pattern is a sequence of steps (see `model`), ordered with the most
  selective kinds first (exact values, then prefixes, ..., anything-but and exists last).
  Branches are inserted into a trie whose nodes are shared by branches with the same
  leading steps: adding a rule adds its own nodes, removing it drops only those no other
  rule uses. Nothing is ever rebuilt.
* Out of each node, the transitions on one field live in a `_FieldIndex` that indexes the
  matchers by kind: a dict for exact values and ``equals-ignore-case``, dicts per registered
  length for prefixes and suffixes (so a value is looked up once per distinct length, not
  once per rule), dyadic blocks over order-preserving number codes for numeric ranges,
  masked network keys for CIDR blocks, literal heads/tails for wildcards, and exclusion
  sets for ``anything-but``.
* An event is flattened once (`flatten`); matching walks the trie from the root, following
  only transitions whose field the event has, so the work grows with the event and with
  the rules it actually (partly) matches, not with the number of rules.

Array consistency: a traversal state carries the array trails of the leaves it used; a leaf
from another element of an array already used is refused, exactly as the reference does.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from cloudlet.patterns.compiler import EVENTBRIDGE, Dialect
from cloudlet.patterns.flatten import Flat, Leaf, Trail, consistent, flatten, parse_event
from cloudlet.patterns.jsontext import Pairs
from cloudlet.patterns.model import (
    AbsentStep,
    AnythingBut,
    Branch,
    Cidr,
    EqualsIgnoreCase,
    Exact,
    Exists,
    FieldStep,
    Matcher,
    Numeric,
    Prefix,
    Suffix,
    Wildcard,
)
from cloudlet.patterns.pattern import EventPattern
from cloudlet.patterns.values import CODE_BITS, exact_key, number_code, parse_ip, wildcard_literal_ends


class _Node:
    """A trie node: transitions by field, by absent field, and the names that end here."""

    __slots__ = ("absent", "fields", "names")

    def __init__(self) -> None:
        self.fields: dict[str, _FieldIndex] = {}
        self.absent: dict[str, _Edge] = {}
        self.names: Counter[str] = Counter()


class _Edge:
    """One step out of a node; ``refs`` counts the branches that pass through it."""

    __slots__ = ("node", "refs", "step")

    def __init__(self, step: Any) -> None:
        self.step = step
        self.node = _Node()
        self.refs = 0


def _dyadic_blocks(low: int, high: int) -> list[tuple[int, int]]:
    """Cover the inclusive integer interval with aligned power-of-two blocks (level, index)."""
    blocks: list[tuple[int, int]] = []
    while low <= high:
        level = 0
        while level < CODE_BITS and not (low >> level) & 1 and low + (1 << (level + 1)) - 1 <= high:
            level += 1
        blocks.append((level, low >> level))
        low += 1 << level
    return blocks


def _add(table: dict[Any, list[Any]], key: Any, item: Any) -> None:
    table.setdefault(key, []).append(item)


def _discard(table: dict[Any, list[Any]], key: Any, item: Any) -> None:
    items = table[key]
    items.remove(item)
    if not items:
        del table[key]


class _Lengths:
    """Registered key lengths of a prefix/suffix table, sorted, kept up to date incrementally."""

    __slots__ = ("counts", "sorted")

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()
        self.sorted: tuple[int, ...] = ()

    def add(self, n: int) -> None:
        self.counts[n] += 1
        if self.counts[n] == 1:
            self.sorted = tuple(sorted(self.counts))

    def remove(self, n: int) -> None:
        self.counts[n] -= 1
        if not self.counts[n]:
            del self.counts[n]
            self.sorted = tuple(sorted(self.counts))


class _FieldIndex:
    """The transitions on one field out of one node, indexed by matcher kind."""

    __slots__ = (
        "ab_all",
        "ab_excl",
        "ab_excl_ic",
        "ab_other",
        "cidr",
        "cidr_kinds",
        "edges",
        "eic",
        "exact",
        "exists",
        "numeric",
        "numeric_levels",
        "prefix",
        "prefix_ic",
        "prefix_ic_lens",
        "prefix_lens",
        "suffix",
        "suffix_ic",
        "suffix_ic_lens",
        "suffix_lens",
        "wc_any",
        "wc_head",
        "wc_head_lens",
        "wc_tail",
        "wc_tail_lens",
    )

    def __init__(self) -> None:
        self.edges: dict[tuple[Matcher, ...], _Edge] = {}
        self.exact: dict[Any, list[_Edge]] = {}
        self.eic: dict[str, list[_Edge]] = {}
        self.prefix: dict[str, list[_Edge]] = {}
        self.prefix_lens = _Lengths()
        self.prefix_ic: dict[str, list[_Edge]] = {}
        self.prefix_ic_lens = _Lengths()
        self.suffix: dict[str, list[_Edge]] = {}
        self.suffix_lens = _Lengths()
        self.suffix_ic: dict[str, list[_Edge]] = {}
        self.suffix_ic_lens = _Lengths()
        self.numeric: dict[tuple[int, int], list[_Edge]] = {}
        self.numeric_levels = _Lengths()
        self.cidr: dict[tuple[int, int, int], list[_Edge]] = {}
        self.cidr_kinds: Counter[tuple[int, int]] = Counter()
        self.exists: list[_Edge] = []
        self.wc_head: dict[str, list[tuple[Wildcard, _Edge]]] = {}
        self.wc_head_lens = _Lengths()
        self.wc_tail: dict[str, list[tuple[Wildcard, _Edge]]] = {}
        self.wc_tail_lens = _Lengths()
        self.wc_any: list[tuple[Wildcard, _Edge]] = []
        # anything-but by exclusion sets: every registered (matcher, edge) matches unless excluded
        self.ab_all: dict[tuple[AnythingBut, _Edge], None] = {}
        self.ab_excl: dict[Any, list[tuple[AnythingBut, _Edge]]] = {}
        self.ab_excl_ic: dict[str, list[tuple[AnythingBut, _Edge]]] = {}
        self.ab_other: list[tuple[AnythingBut, _Edge]] = []

    def is_empty(self) -> bool:
        return not self.edges

    # -- registration ------------------------------------------------------------------

    def register(self, matcher: Matcher, edge: _Edge, add: bool = True) -> None:
        """Index (or, with ``add=False``, unindex) one matcher leading to ``edge``."""
        put = _add if add else _discard
        if isinstance(matcher, Exact):
            put(self.exact, matcher.key, edge)
        elif isinstance(matcher, EqualsIgnoreCase):
            put(self.eic, matcher.text, edge)
        elif isinstance(matcher, Prefix | Suffix):
            if isinstance(matcher, Prefix):
                table, lens = (
                    (self.prefix_ic, self.prefix_ic_lens)
                    if matcher.ignore_case
                    else (self.prefix, self.prefix_lens)
                )
            else:
                table, lens = (
                    (self.suffix_ic, self.suffix_ic_lens)
                    if matcher.ignore_case
                    else (self.suffix, self.suffix_lens)
                )
            put(table, matcher.text, edge)
            (lens.add if add else lens.remove)(len(matcher.text))
        elif isinstance(matcher, Numeric):
            for level, index in _dyadic_blocks(matcher.low, matcher.high):
                put(self.numeric, (level, index), edge)
                (self.numeric_levels.add if add else self.numeric_levels.remove)(level)
        elif isinstance(matcher, Cidr):
            width = 32 if matcher.version == 4 else 128
            key = (matcher.version, matcher.prefixlen, matcher.network >> (width - matcher.prefixlen))
            put(self.cidr, key, edge)
            self.cidr_kinds[(matcher.version, matcher.prefixlen)] += 1 if add else -1
            if not self.cidr_kinds[(matcher.version, matcher.prefixlen)]:
                del self.cidr_kinds[(matcher.version, matcher.prefixlen)]
        elif isinstance(matcher, Exists):
            if add:
                self.exists.append(edge)
            else:
                self.exists.remove(edge)
        elif isinstance(matcher, Wildcard):
            head, tail, _ = wildcard_literal_ends(matcher.source)
            item = (matcher, edge)
            if head:
                put(self.wc_head, head, item)
                (self.wc_head_lens.add if add else self.wc_head_lens.remove)(len(head))
            elif tail:
                put(self.wc_tail, tail, item)
                (self.wc_tail_lens.add if add else self.wc_tail_lens.remove)(len(tail))
            elif add:
                self.wc_any.append(item)
            else:
                self.wc_any.remove(item)
        elif isinstance(matcher, AnythingBut):
            pair = (matcher, edge)
            if matcher.prefixes or matcher.suffixes or matcher.wildcards:
                if add:
                    self.ab_other.append(pair)
                else:
                    self.ab_other.remove(pair)
                return
            if add:
                self.ab_all[pair] = None
            else:
                del self.ab_all[pair]
            for key in matcher.keys:
                put(self.ab_excl, key, pair)
            for text in matcher.ignore_case:
                put(self.ab_excl_ic, text, pair)
        else:  # pragma: no cover - every matcher kind is indexed above
            raise TypeError(f"unindexed matcher {matcher!r}")

    # -- matching ----------------------------------------------------------------------

    def match(self, value: Any) -> list[_Edge]:
        """The edges whose step some matcher of accepts ``value`` (may repeat an edge)."""
        out: list[_Edge] = []
        t = type(value)
        if self.exact:
            found = self.exact.get(value if t is str else exact_key(value))
            if found:
                out.extend(found)
        if t is str:
            n = len(value)
            if self.prefix:
                table = self.prefix
                for size in self.prefix_lens.sorted:
                    if size > n:
                        break
                    found = table.get(value[:size])
                    if found:
                        out.extend(found)
            if self.suffix:
                table = self.suffix
                for size in self.suffix_lens.sorted:
                    if size > n:
                        break
                    found = table.get(value[n - size :])
                    if found:
                        out.extend(found)
            if self.eic or self.prefix_ic or self.suffix_ic or self.ab_excl_ic:
                lowered = value.lower()
                if self.eic:
                    found = self.eic.get(lowered)
                    if found:
                        out.extend(found)
                if self.prefix_ic:
                    table = self.prefix_ic
                    m = len(lowered)
                    for size in self.prefix_ic_lens.sorted:
                        if size > m:
                            break
                        found = table.get(lowered[:size])
                        if found:
                            out.extend(found)
                if self.suffix_ic:
                    table = self.suffix_ic
                    m = len(lowered)
                    for size in self.suffix_ic_lens.sorted:
                        if size > m:
                            break
                        found = table.get(lowered[m - size :])
                        if found:
                            out.extend(found)
            if self.wc_head:
                for size in self.wc_head_lens.sorted:
                    if size > n:
                        break
                    for wildcard, edge in self.wc_head.get(value[:size], ()):
                        if wildcard.regex.fullmatch(value):
                            out.append(edge)
            if self.wc_tail:
                for size in self.wc_tail_lens.sorted:
                    if size > n:
                        break
                    for wildcard, edge in self.wc_tail.get(value[n - size :], ()):
                        if wildcard.regex.fullmatch(value):
                            out.append(edge)
            for wildcard, edge in self.wc_any:
                if wildcard.regex.fullmatch(value):
                    out.append(edge)
            if self.cidr:
                ip = parse_ip(value)
                if ip is not None:
                    number, width = int(ip), (32 if ip.version == 4 else 128)
                    for version, plen in self.cidr_kinds:
                        if version == ip.version:
                            found = self.cidr.get((version, plen, number >> (width - plen)))
                            if found:
                                out.extend(found)
        elif (t is int or t is float) and self.numeric:
            code = number_code(value)
            if code is not None:
                table2 = self.numeric
                for level in self.numeric_levels.sorted:
                    found = table2.get((level, code >> level))
                    if found:
                        out.extend(found)
        if self.exists:
            out.extend(self.exists)
        if self.ab_all:
            excluded: set[tuple[AnythingBut, _Edge]] = set()
            if self.ab_excl:
                hit = self.ab_excl.get(value if t is str else exact_key(value))
                if hit:
                    excluded.update(hit)
            if t is str and self.ab_excl_ic:
                hit = self.ab_excl_ic.get(value.lower())
                if hit:
                    excluded.update(hit)
            if excluded:
                out.extend(edge for pair in self.ab_all if pair not in excluded for edge in (pair[1],))
            else:
                out.extend(pair[1] for pair in self.ab_all)
        for matcher, edge in self.ab_other:
            if not matcher.excludes(value):
                out.append(edge)
        return out


class PatternIndex:
    """Named event patterns compiled into one shared automaton.

    ``add(name, pattern)`` validates (raising `InvalidEventPattern`) and inserts the pattern;
    adding under an existing name replaces it. ``remove(name)`` takes it out.
    ``match(event)`` returns the names of all patterns that match the event.
    """

    def __init__(self, *, dialect: Dialect = EVENTBRIDGE) -> None:
        self._dialect = dialect
        self._root = _Node()
        self._patterns: dict[str, tuple[Branch, ...]] = {}

    def __len__(self) -> int:
        return len(self._patterns)

    def __contains__(self, name: object) -> bool:
        return name in self._patterns

    def names(self) -> list[str]:
        """The names of the patterns in the index."""
        return list(self._patterns)

    def add(self, name: str, pattern: str | bytes | dict[str, Any] | Pairs | EventPattern) -> None:
        """Insert (or replace) the pattern under ``name``."""
        compiled = (
            pattern if isinstance(pattern, EventPattern) else EventPattern(pattern, dialect=self._dialect)
        )
        if name in self._patterns:
            self.remove(name)
        for branch in compiled.branches:
            self._insert(name, branch)
        self._patterns[name] = compiled.branches

    def remove(self, name: str) -> None:
        """Take the pattern named ``name`` out of the index (a missing name is ignored)."""
        branches = self._patterns.pop(name, None)
        if branches is None:
            return
        for branch in branches:
            self._delete(name, branch)

    def _insert(self, name: str, branch: Branch) -> None:
        node = self._root
        for step in branch.steps:
            if isinstance(step, AbsentStep):
                edge = node.absent.get(step.path)
                if edge is None:
                    edge = node.absent[step.path] = _Edge(step)
            else:
                assert isinstance(step, FieldStep)
                field = node.fields.get(step.path)
                if field is None:
                    field = node.fields[step.path] = _FieldIndex()
                edge = field.edges.get(step.matchers)
                if edge is None:
                    edge = field.edges[step.matchers] = _Edge(step)
                    for matcher in step.matchers:
                        field.register(matcher, edge)
            edge.refs += 1
            node = edge.node
        node.names[name] += 1

    def _delete(self, name: str, branch: Branch) -> None:
        trail: list[tuple[_Node, Any, _Edge]] = []
        node = self._root
        for step in branch.steps:
            if isinstance(step, AbsentStep):
                edge = node.absent[step.path]
            else:
                assert isinstance(step, FieldStep)
                edge = node.fields[step.path].edges[step.matchers]
            trail.append((node, step, edge))
            node = edge.node
        node.names[name] -= 1
        if not node.names[name]:
            del node.names[name]
        for parent, step, edge in reversed(trail):
            edge.refs -= 1
            if edge.refs:
                continue
            if isinstance(step, AbsentStep):
                del parent.absent[step.path]
                continue
            field = parent.fields[step.path]
            del field.edges[step.matchers]
            for matcher in step.matchers:
                field.register(matcher, edge, add=False)
            if field.is_empty():
                del parent.fields[step.path]

    def match(self, event: str | bytes | dict[str, Any]) -> set[str]:
        """The names of the patterns that match the event (a JSON object, as text or dict)."""
        parsed = parse_event(event)
        if not isinstance(parsed, dict):
            return set()
        return self.match_flat(flatten(parsed))

    def match_flat(self, flat: Flat) -> set[str]:
        """`match` for an event already flattened with `flatten`."""
        result: set[str] = set()
        stack: list[tuple[_Node, tuple[Trail, ...]]] = [(self._root, ())]
        pop, push = stack.pop, stack.append
        n_flat = len(flat)
        while stack:
            node, chosen = pop()
            if node.names:
                result.update(node.names)
            fields = node.fields
            if fields:
                pairs: list[tuple[_FieldIndex | None, list[Leaf] | None]]
                if len(fields) <= n_flat:
                    pairs = [(fi, flat.get(path)) for path, fi in fields.items()]
                else:
                    pairs = [(fields.get(path), leaves) for path, leaves in flat.items()]
                for fi, leaves in pairs:
                    if fi is None or leaves is None:
                        continue
                    for value, trail in leaves:
                        edges = fi.match(value)
                        if not edges:
                            continue
                        if len(edges) > 1:
                            edges = list(dict.fromkeys(edges))
                        if trail:
                            if not consistent(trail, chosen):
                                continue
                            extended = (*chosen, trail)
                            for edge in edges:
                                push((edge.node, extended))
                        else:
                            for edge in edges:
                                push((edge.node, chosen))
            if node.absent:
                for path, edge in node.absent.items():
                    if path not in flat:
                        push((edge.node, chosen))
        return result
