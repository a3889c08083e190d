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
from collections.abc import Callable
from typing import Any

from cloudlet.patterns.compiler import EVENTBRIDGE, Dialect
from cloudlet.patterns.flatten import Flat, Trail, consistent, flatten, parse_event
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
    Step,
    Suffix,
    Wildcard,
)
from cloudlet.patterns.pattern import EventPattern
from cloudlet.patterns.values import CODE_BITS, exact_key, number_code, parse_ip, wildcard_literal_ends

_Kind = Callable[[Any, type, list["_Node"]], None]
#: (path, exact table when exact values are all, prefix table and its key lengths when
#: prefixes are all, the targets when ``exists: true`` is all, per-kind lookups otherwise)
_PlanEntry = tuple[
    str,
    "dict[Any, list[_Node]] | None",
    "dict[str, list[_Node]] | None",
    tuple[int, ...],
    "list[_Node] | None",
    tuple[_Kind, ...],
]


def _plan_entry(path: str, fi: _FieldIndex) -> _PlanEntry:
    if not fi.others:
        return (path, fi.exact, None, (), None, ())
    if fi.kinds == (fi._match_prefix,):
        return (path, None, fi.prefix, fi.prefix_lens.sorted, None, ())
    if fi.kinds == (fi._match_exists,):
        return (path, None, None, (), fi.exists, ())
    return (path, None, None, (), None, fi.kinds)


class _Node:
    """A trie node: transitions by field, by absent field, and the names that end here."""

    __slots__ = ("absent", "fields", "final", "names", "plan", "result")

    def __init__(self) -> None:
        self.fields: dict[str, _FieldIndex] = {}
        self.absent: dict[str, _Edge] = {}
        self.names: Counter[str] = Counter()
        #: Kept in step with the three above by `refresh`: no transitions out; the names.
        self.final = True
        self.result: tuple[str, ...] = ()
        #: ``fields`` as a tuple (path, exact dict when exact values are all, per-kind lookups),
        #: made when first needed and dropped whenever this node's transitions change.
        self.plan: tuple[_PlanEntry, ...] | None = None

    def refresh(self) -> None:
        """Recompute `final` and `result` after the transitions or names changed."""
        self.final = not self.fields and not self.absent
        self.result = tuple(self.names)

    def make_plan(self) -> tuple[_PlanEntry, ...]:
        self.plan = tuple(_plan_entry(path, fi) for path, fi in self.fields.items())
        return self.plan


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


#: Up to this many numeric ranges on one field are tested directly rather than by blocks.
_FEW_RANGES = 12


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
        "kinds",
        "numeric",
        "numeric_levels",
        "numeric_ranges",
        "others",
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
        #: How many registered matchers are not exact values (0: the fast exact-only path).
        self.others = 0
        self.kinds: tuple[Callable[[Any, type, list[_Node]], None], ...] = ()
        self.exact: dict[Any, list[_Node]] = {}
        self.eic: dict[str, list[_Node]] = {}
        self.prefix: dict[str, list[_Node]] = {}
        self.prefix_lens = _Lengths()
        self.prefix_ic: dict[str, list[_Node]] = {}
        self.prefix_ic_lens = _Lengths()
        self.suffix: dict[str, list[_Node]] = {}
        self.suffix_lens = _Lengths()
        self.suffix_ic: dict[str, list[_Node]] = {}
        self.suffix_ic_lens = _Lengths()
        #: Few ranges are tested one by one; many are looked up by their dyadic blocks.
        self.numeric_ranges: list[tuple[int, int, _Node]] = []
        self.numeric: dict[tuple[int, int], list[_Node]] = {}
        self.numeric_levels = _Lengths()
        self.cidr: dict[tuple[int, int, int], list[_Node]] = {}
        self.cidr_kinds: Counter[tuple[int, int]] = Counter()
        self.exists: list[_Node] = []
        self.wc_head: dict[str, list[tuple[Wildcard, _Node]]] = {}
        self.wc_head_lens = _Lengths()
        self.wc_tail: dict[str, list[tuple[Wildcard, _Node]]] = {}
        self.wc_tail_lens = _Lengths()
        self.wc_any: list[tuple[Wildcard, _Node]] = []
        # anything-but by exclusion sets: every registered (matcher, edge) matches unless excluded
        self.ab_all: dict[tuple[AnythingBut, _Node], None] = {}
        self.ab_excl: dict[Any, list[tuple[AnythingBut, _Node]]] = {}
        self.ab_excl_ic: dict[str, list[tuple[AnythingBut, _Node]]] = {}
        self.ab_other: list[tuple[AnythingBut, _Node]] = []

    def is_empty(self) -> bool:
        return not self.edges

    # -- registration ------------------------------------------------------------------

    def register(self, matcher: Matcher, edge: _Edge, add: bool = True) -> None:
        """Index (or, with ``add=False``, unindex) one matcher leading to ``edge``."""
        self._register(matcher, edge, add)
        self._refresh_kinds()

    def _register(self, matcher: Matcher, edge: _Edge, add: bool) -> None:
        target = edge.node  # tables hold the target nodes: one indirection less per match
        put = _add if add else _discard
        if not isinstance(matcher, Exact):
            self.others += 1 if add else -1
        if isinstance(matcher, Exact):
            put(self.exact, matcher.key, target)
        elif isinstance(matcher, EqualsIgnoreCase):
            put(self.eic, matcher.text, target)
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
            put(table, matcher.text, target)
            (lens.add if add else lens.remove)(len(matcher.text))
        elif isinstance(matcher, Numeric):
            ranges = (matcher.low, matcher.high, target)
            if add:
                self.numeric_ranges.append(ranges)
            else:
                self.numeric_ranges.remove(ranges)
            for level, index in _dyadic_blocks(matcher.low, matcher.high):
                put(self.numeric, (level, index), target)
                (self.numeric_levels.add if add else self.numeric_levels.remove)(level)
        elif isinstance(matcher, Cidr):
            width = 32 if matcher.version == 4 else 128
            key = (matcher.version, matcher.prefixlen, matcher.network >> (width - matcher.prefixlen))
            put(self.cidr, key, target)
            self.cidr_kinds[(matcher.version, matcher.prefixlen)] += 1 if add else -1
            if not self.cidr_kinds[(matcher.version, matcher.prefixlen)]:
                del self.cidr_kinds[(matcher.version, matcher.prefixlen)]
        elif isinstance(matcher, Exists):
            if add:
                self.exists.append(target)
            else:
                self.exists.remove(target)
        elif isinstance(matcher, Wildcard):
            head, tail, _ = wildcard_literal_ends(matcher.source)
            item = (matcher, target)
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
            pair = (matcher, target)
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

    def _refresh_kinds(self) -> None:
        """The per-kind lookups this index needs, so matching skips the empty kinds."""
        kinds: list[Callable[[Any, type, list[_Node]], None]] = []
        if self.exact:
            kinds.append(self._match_exact)
        if self.prefix:
            kinds.append(self._match_prefix)
        if self.suffix:
            kinds.append(self._match_suffix)
        if self.eic or self.prefix_ic or self.suffix_ic:
            kinds.append(self._match_ignore_case)
        if self.wc_head or self.wc_tail or self.wc_any:
            kinds.append(self._match_wildcard)
        if self.cidr:
            kinds.append(self._match_cidr)
        if self.numeric:
            kinds.append(self._match_numeric)
        if self.exists:
            kinds.append(self._match_exists)
        if self.ab_all:
            kinds.append(self._match_anything_but)
        if self.ab_other:
            kinds.append(self._match_anything_but_other)
        self.kinds = tuple(kinds)

    def match(self, value: Any) -> list[_Node]:
        """The target nodes of the steps that accept ``value`` (one may repeat)."""
        out: list[_Node] = []
        t = type(value)
        for kind in self.kinds:
            kind(value, t, out)
        return out

    def _match_exact(self, value: Any, t: type, out: list[_Node]) -> None:
        found = self.exact.get(value if t is str else exact_key(value))
        if found:
            out.extend(found)

    @staticmethod
    def _affixes(value: str, table: dict[str, list[_Node]], sizes: tuple[int, ...], out: list[_Node]) -> None:
        n = len(value)
        for size in sizes:
            if size > n:
                break
            found = table.get(value[:size])
            if found:
                out.extend(found)

    @staticmethod
    def _suffixes(
        value: str, table: dict[str, list[_Node]], sizes: tuple[int, ...], out: list[_Node]
    ) -> None:
        n = len(value)
        for size in sizes:
            if size > n:
                break
            found = table.get(value[n - size :])
            if found:
                out.extend(found)

    def _match_prefix(self, value: Any, t: type, out: list[_Node]) -> None:
        if t is not str:
            return
        n = len(value)
        table = self.prefix
        for size in self.prefix_lens.sorted:
            if size > n:
                break
            found = table.get(value[:size])
            if found:
                out.extend(found)

    def _match_suffix(self, value: Any, t: type, out: list[_Node]) -> None:
        if t is str:
            self._suffixes(value, self.suffix, self.suffix_lens.sorted, out)

    def _match_ignore_case(self, value: Any, t: type, out: list[_Node]) -> None:
        if t is not str:
            return
        lowered = value.lower()
        if self.eic:
            found = self.eic.get(lowered)
            if found:
                out.extend(found)
        if self.prefix_ic:
            self._affixes(lowered, self.prefix_ic, self.prefix_ic_lens.sorted, out)
        if self.suffix_ic:
            self._suffixes(lowered, self.suffix_ic, self.suffix_ic_lens.sorted, out)

    def _match_wildcard(self, value: Any, t: type, out: list[_Node]) -> None:
        if t is not str:
            return
        n = len(value)
        if self.wc_head:
            for size in self.wc_head_lens.sorted:
                if size > n:
                    break
                for wildcard, target in self.wc_head.get(value[:size], ()):
                    if wildcard.regex.fullmatch(value):
                        out.append(target)
        if self.wc_tail:
            for size in self.wc_tail_lens.sorted:
                if size > n:
                    break
                for wildcard, target in self.wc_tail.get(value[n - size :], ()):
                    if wildcard.regex.fullmatch(value):
                        out.append(target)
        for wildcard, target in self.wc_any:
            if wildcard.regex.fullmatch(value):
                out.append(target)

    def _match_cidr(self, value: Any, t: type, out: list[_Node]) -> None:
        ip = parse_ip(value)
        if ip is None:
            return
        number, width = int(ip), (32 if ip.version == 4 else 128)
        for version, plen in self.cidr_kinds:
            if version == ip.version:
                found = self.cidr.get((version, plen, number >> (width - plen)))
                if found:
                    out.extend(found)

    def _match_numeric(self, value: Any, t: type, out: list[_Node]) -> None:
        if t is not int and t is not float:
            return
        code = number_code(value)
        if code is None:
            return
        if len(self.numeric_ranges) <= _FEW_RANGES:
            for low, high, target in self.numeric_ranges:
                if low <= code <= high:
                    out.append(target)
            return
        table = self.numeric
        for level in self.numeric_levels.sorted:
            found = table.get((level, code >> level))
            if found:
                out.extend(found)

    def _match_exists(self, value: Any, t: type, out: list[_Node]) -> None:
        out.extend(self.exists)

    def _match_anything_but(self, value: Any, t: type, out: list[_Node]) -> None:
        hit = self.ab_excl.get(value if t is str else exact_key(value)) if self.ab_excl else None
        if t is str and self.ab_excl_ic:
            hit_ic = self.ab_excl_ic.get(value.lower())
            if hit_ic:
                hit = hit + hit_ic if hit else hit_ic
        if hit:
            excluded = set(hit)
            out.extend(pair[1] for pair in self.ab_all if pair not in excluded)
        else:
            out.extend(pair[1] for pair in self.ab_all)

    def _match_anything_but_other(self, value: Any, t: type, out: list[_Node]) -> None:
        for matcher, target in self.ab_other:
            if not matcher.excludes(value):
                out.append(target)


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
        #: How many inserted branch steps name each field path (orders the steps of new rules).
        self._path_uses: Counter[str] = Counter()

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
        uses = self._path_uses
        for branch in compiled.branches:
            for step in branch.steps:
                uses[step.path] += 1
        # Within a kind, fields that more rules name go first (as an FP-tree orders items):
        # rules then share their leading nodes, and an event walks fewer of them.
        branches = tuple(Branch(tuple(sorted(b.steps, key=self._step_key))) for b in compiled.branches)
        for branch in branches:
            self._insert(name, branch)
        self._patterns[name] = branches

    def _step_key(self, step: Step) -> tuple[int, int, int, bool, str, str]:
        alternatives = len(step.matchers) if isinstance(step, FieldStep) else 0
        # ties: ``source`` first, the field nearly every EventBridge rule names
        return (
            step.rank,
            alternatives,
            -self._path_uses[step.path],
            step.path != "source",
            step.path,
            repr(step),
        )

    def remove(self, name: str) -> None:
        """Take the pattern named ``name`` out of the index (a missing name is ignored)."""
        branches = self._patterns.pop(name, None)
        if branches is None:
            return
        for branch in branches:
            self._delete(name, branch)
            for step in branch.steps:
                self._path_uses[step.path] -= 1
                if not self._path_uses[step.path]:
                    del self._path_uses[step.path]

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
                    node.plan = None
                    edge = field.edges[step.matchers] = _Edge(step)
                    for matcher in step.matchers:
                        field.register(matcher, edge)
            edge.refs += 1
            node.refresh()
            node = edge.node
        node.names[name] += 1
        node.refresh()

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
        node.refresh()
        for parent, step, edge in reversed(trail):
            edge.refs -= 1
            if edge.refs:
                continue
            if isinstance(step, AbsentStep):
                del parent.absent[step.path]
                parent.refresh()
                continue
            parent.plan = None
            field = parent.fields[step.path]
            del field.edges[step.matchers]
            for matcher in step.matchers:
                field.register(matcher, edge, add=False)
            if field.is_empty():
                del parent.fields[step.path]
            parent.refresh()

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
        flat_get = flat.get
        n_flat = len(flat)
        while stack:
            node, chosen = pop()
            if node.result:
                result.update(node.result)
            plan = node.plan
            if plan is None:
                plan = node.make_plan()
            if len(plan) > n_flat:  # more fields here than the event has: look up the event's
                fields = node.fields
                plan = tuple(_plan_entry(path, fi) for path in flat if (fi := fields.get(path)) is not None)
            for path, exact, prefixes, sizes, every, kinds in plan:
                leaves = flat_get(path)
                if leaves is None:
                    continue
                for value, trail in leaves:
                    if exact is not None:  # exact values only: one dict lookup
                        edges = exact.get(value if type(value) is str else exact_key(value))
                        if edges is None:
                            continue
                    elif prefixes is not None:  # prefixes only: one lookup per registered length
                        if type(value) is not str:
                            continue
                        edges = []
                        n = len(value)
                        for size in sizes:
                            if size > n:
                                break
                            found = prefixes.get(value[:size])
                            if found:
                                edges += found
                        if not edges:
                            continue
                        if len(edges) > 1:
                            edges = list(dict.fromkeys(edges))
                    elif every is not None:  # exists: true only: every leaf
                        edges = every
                    else:
                        edges = []
                        t = type(value)
                        if len(kinds) == 1:
                            kinds[0](value, t, edges)
                        else:
                            for kind in kinds:
                                kind(value, t, edges)
                        if not edges:
                            continue
                        if len(edges) > 1:
                            edges = list(dict.fromkeys(edges))
                    state = chosen
                    if trail:
                        if chosen and not consistent(trail, chosen):
                            continue
                        state = (*chosen, trail)
                    for target in edges:
                        if target.final:  # no transitions out: no need to visit it
                            result.update(target.result)
                        else:
                            push((target, state))
            if node.absent:
                for path, edge in node.absent.items():
                    if path not in flat:
                        push((edge.node, chosen))
        return result
