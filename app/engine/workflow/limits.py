"""Time and memory budgets for BPMN scripts and expressions, enforced inside the script's own code.

This is the first of two lines. ``LimitingTransformer`` extends RestrictedPython's policy so that what a script
is about to do is checked before it is done, with a reason and a line number:

- every loop body, function body, lambda and comprehension calls ``_tick_``, which checks a deadline, so
  ``while True: pass`` stops after ``Limits.seconds``;
- ``*``, ``**``, ``<<``, ``+``, ``%`` and f-string format specs go through helpers that estimate the size of the
  result *before* computing it and refuse one beyond ``Limits.max_bytes`` (``'a'*10**10``, ``9**9**9``);
- what a script builds (comprehension items, list()/sorted()/dict() of an iterator, append/extend/update,
  ``x[k] = v``, join/replace/split ...) is charged to a per-run allowance, ``Limits.max_memory``;
- ``range`` is capped, so most C calls (sum, sorted, ``x in y``) see bounded values.

The estimate is conservative and cumulative (memory a script frees is not given back), but it cannot see
everything: one C call that runs long (200 times ``max(range(10**7))`` on straight lines: no loop, no tick) or
memory it does not count (an item is charged a few bytes whatever its size, so a list of big integers). The
second line is the process: scripts run in a sandbox worker whose address space is capped and which is killed
when ``Limits.seconds`` are up (``sandbox.py``). BPMN scripts set a few variables, so a script that comes near
these limits is a defect to report, not a workload to serve.
"""
from __future__ import annotations

import ast
import operator
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, SupportsIndex, cast

from RestrictedPython import RestrictingNodeTransformer
from RestrictedPython.Guards import full_write_guard, safer_getattr

ITEM_COST = 32             # bytes charged for one element added to a container (pointer + a small object)
PIECE_COST = 64            # bytes charged for one piece of a split string
_WIDTH = re.compile(r"(\d+)")
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?")
_SEQUENCES = (str, bytes, bytearray, list, tuple)
_NUMBERS = (int, float, bool)
_CHEAP_INPLACE = {"+=": operator.add, "-=": operator.sub, "/=": operator.truediv, "//=": operator.floordiv}
_SIZED = (str, bytes, bytearray, list, tuple, dict, set, frozenset, range)
# The receivers of the guarded string methods (join, replace, split ...).
_Text = str | bytes | bytearray


@dataclass(frozen=True)
class Limits:
    """What one script or expression may use. ``seconds``: wall time from its start; ``max_bytes``: the largest
    single value a guarded operation may build; ``max_memory``: everything it builds, added up."""

    seconds: float = 2.0
    max_bytes: int = 10_000_000
    max_memory: int = 50_000_000
    max_int_bits: int = 1_000_000     # 9**9**9 has 350 million bits; multiplying 1M-bit ints takes ~50 ms
    max_range: int = 10_000_000       # C loops (sum, x in range) over at most this many items


class ScriptLimitExceeded(BaseException):
    """Raised inside a script that ran out of time or memory. A BaseException so that a script's own
    ``except Exception`` does not swallow it (a bare ``except:`` does; the budget remembers and fails anyway)."""


class Budget:
    """The allowance of one run; its methods are the ``_tick_``, ``_mul_`` ... helpers the compiled code calls."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.deadline = time.monotonic() + limits.seconds
        self.charged = 0
        self.ticks = 0
        self.exceeded: str | None = None

    # -- time --------------------------------------------------------------------------------------------------
    def tick(self, value: object = None) -> object:  # hands back what it is given (``_tick_(expr)`` in lambdas)
        self.ticks += 1
        if self.exceeded or (not self.ticks & 63 and time.monotonic() > self.deadline):  # the clock every 64th
            self._fail(self.exceeded or f"it ran longer than its time budget of {self.limits.seconds:g} s "
                                        "(an endless loop?)")
        return value

    def item(self) -> bool:
        self.charge(ITEM_COST)
        return True

    # -- memory ------------------------------------------------------------------------------------------------
    def charge(self, nbytes: int) -> None:
        if nbytes > self.limits.max_bytes:
            self._fail(f"it would build a value of about {_mb(nbytes)}, more than the {_mb(self.limits.max_bytes)} "
                       "allowed")
        self.charged += nbytes
        if self.charged > self.limits.max_memory:
            self._fail(f"it built more than its memory budget of {_mb(self.limits.max_memory)}")
        self.tick()

    def _fail(self, reason: str) -> NoReturn:
        self.exceeded = reason
        raise ScriptLimitExceeded(reason)

    def check_int_bits(self, bits: int) -> None:
        if bits > self.limits.max_int_bits:
            self._fail(f"it would compute a number of about {bits:,} bits, more than the "
                       f"{self.limits.max_int_bits:,} allowed")

    # -- operators ---------------------------------------------------------------------------------------------
    def mul(self, a, b):
        if isinstance(a, int) and isinstance(b, int):
            self.check_int_bits(a.bit_length() + b.bit_length())
        elif isinstance(a, _SEQUENCES) or isinstance(b, _SEQUENCES):
            seq, count = (a, b) if isinstance(a, _SEQUENCES) else (b, a)
            try:
                count = operator.index(count)
            except TypeError:
                return a * b  # the natural TypeError ("can't multiply sequence by non-int")
            self.charge(_size(seq) * max(count, 0))
            return seq * count if seq is a else count * seq
        return a * b

    def pow(self, a, b, mod=None):
        if mod is not None:
            if isinstance(b, int) and isinstance(mod, int):
                self.check_int_bits(max(b.bit_length(), mod.bit_length()) * 64)
            return pow(a, b, mod)
        if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
            self.check_int_bits(a.bit_length() * b)
        return a ** b

    def lshift(self, a, b):
        if isinstance(a, int) and isinstance(b, int) and a:
            self.check_int_bits(a.bit_length() + max(b, 0))
        return a << b

    def add(self, a, b):
        if type(a) in _NUMBERS and type(b) in _NUMBERS:
            return a + b
        if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
            self.charge(_size(a) + _size(b))
        return a + b

    def mod(self, a, b):
        if isinstance(a, (str, bytes)):
            self._check_percent_format(a if isinstance(a, str) else a.decode("latin-1"))
        return a % b

    def _check_percent_format(self, template: str) -> None:
        for width, precision in _PERCENT_SPEC.findall(template):
            for number in (width, precision):
                if number == "*":
                    self._fail("a '*' width in a %-format is not allowed; write the width as a number")
                if number and int(number) > self.limits.max_bytes:
                    self.charge(int(number))

    def format_value(self, value: object, spec: str, conversion: int) -> str:
        for number in _WIDTH.findall(spec):
            if len(number) > 12 or int(number) > self.limits.max_bytes:
                self.charge(self.limits.max_bytes + 1)
        if conversion == ord("r"):
            value = repr(value)
        elif conversion == ord("s"):
            value = str(value)
        elif conversion == ord("a"):
            value = ascii(value)
        return format(value, spec)

    def inplace(self, op: str, x: object, y: object) -> object:
        if type(x) in _NUMBERS and type(y) in _NUMBERS and op in _CHEAP_INPLACE:  # the usual counter += 1
            return _CHEAP_INPLACE[op](x, y)
        # += and *= stay in place (a list extended through one name is extended for every name); checked first
        if op == "+=" and isinstance(x, _SEQUENCES) and isinstance(y, _SEQUENCES):
            self.charge(_size(x) + _size(y))
            return operator.iadd(x, y)
        if op == "*=" and isinstance(x, _SEQUENCES) and not isinstance(y, _SEQUENCES):
            try:
                count = operator.index(cast(SupportsIndex, y))   # a TypeError if it is no integer
            except TypeError:
                return operator.imul(x, y)  # the natural TypeError
            self.charge(_size(x) * max(count, 0))
            return operator.imul(x, count)
        return _INPLACE[op](self, x, y)

    # -- builtins that build or loop ---------------------------------------------------------------------------
    def range(self, *args):
        result = range(*args)
        try:
            length = len(result)
        except OverflowError:
            length = self.limits.max_range + 1
        if length > self.limits.max_range:
            self._fail(f"range() of {length:,} items is more than the {self.limits.max_range:,} allowed")
        return result

    def materializing(self, build: Callable) -> Callable:
        """list(), tuple(), set(), sorted(), dict() ...: charge what they will hold before (or while) building."""
        def guarded(*args, **kwargs):
            if args:
                source = args[0]
                if isinstance(source, _SIZED):
                    self.charge(len(source) * ITEM_COST)
                elif not (build is dict and hasattr(source, "keys")):
                    args = (self.counted(source), *args[1:])
            if kwargs and build is dict:
                self.charge(len(kwargs) * ITEM_COST)
            return build(*args, **kwargs)
        guarded.__name__ = getattr(build, "__name__", "builtin")
        return guarded

    def counted(self, iterable):
        for value in iterable:
            self.charge(ITEM_COST)
            yield value

    def getattr(self, obj, name, default=None):
        value = safer_getattr(obj, name, default)
        guard = _METHOD_GUARDS.get(name)
        if guard is not None and callable(value) and isinstance(obj, _GUARDED_RECEIVERS.get(name, ())):
            return guard(self, obj, value)
        return value

    def write(self, obj):
        if type(obj) in (list, dict):
            return _ChargingWriter(obj, self)
        return full_write_guard(obj)


class _ChargingWriter:
    """What ``x[k] = v`` writes through for lists and dicts: each new item is charged."""

    __slots__ = ("_budget", "_target")

    def __init__(self, target: list | dict, budget: Budget):
        self._target, self._budget = target, budget

    def __setitem__(self, key, value):
        count = len(value) if isinstance(key, slice) and isinstance(value, _SIZED) else 1
        self._budget.charge(count * ITEM_COST)
        self._target[key] = value

    def __delitem__(self, key):
        del self._target[key]


def _grow(count: Callable[[tuple, dict], int]) -> Callable[[Budget, object, Callable], Callable]:
    def guard(budget: Budget, obj: object, method: Callable) -> Callable:
        def guarded(*args, **kwargs):
            budget.charge(count(args, kwargs) * ITEM_COST)
            return method(*args, **kwargs)
        return guarded
    return guard


def _extend(budget: Budget, obj: object, method: Callable) -> Callable:
    def guarded(*args, **kwargs):
        if args and not isinstance(args[0], _SIZED) and not hasattr(args[0], "keys"):
            args = (list(budget.counted(args[0])), *args[1:])
        else:
            budget.charge(sum(len(a) for a in args if isinstance(a, _SIZED)) * ITEM_COST)
        budget.charge(len(kwargs) * ITEM_COST)
        return method(*args, **kwargs)
    return guarded


def _join(budget: Budget, sep: _Text, method: Callable) -> Callable:
    def guarded(iterable):
        items = list(iterable) if isinstance(iterable, _SIZED) else list(budget.counted(iterable))
        budget.charge(sum(_size(item) for item in items) + _size(sep) * max(len(items) - 1, 0))
        return method(items)
    return guarded


def _pad(budget: Budget, text: _Text, method: Callable) -> Callable:
    def guarded(width, *args):
        budget.charge(max(operator.index(width), 0))
        return method(width, *args)
    return guarded


def _replace(budget: Budget, text: _Text, method: Callable) -> Callable:
    def guarded(old, new, *args):
        count = text.count(old)  # "abc".count("") == 4: an empty ``old`` inserts ``new`` between every character
        if args and operator.index(args[0]) >= 0:
            count = min(count, operator.index(args[0]))
        budget.charge(len(text) + count * max(len(new) - len(old), 0))
        return method(old, new, *args)
    return guarded


def _expandtabs(budget: Budget, text: _Text, method: Callable) -> Callable:
    def guarded(tabsize=8):
        budget.charge(len(text) + (text.count("\t") if isinstance(text, str) else text.count(b"\t")) * max(tabsize, 0))
        return method(tabsize)
    return guarded


def _split(budget: Budget, text: _Text, method: Callable) -> Callable:
    def guarded(*args, **kwargs):
        sep = args[0] if args else kwargs.get("sep")
        pieces = text.count(sep) + 1 if sep else len(text) // 2 + 1
        budget.charge(pieces * PIECE_COST + len(text))
        return method(*args, **kwargs)
    return guarded


def _translate(budget: Budget, text: _Text, method: Callable) -> Callable:
    def guarded(table):
        longest = max((len(v) for v in table.values() if isinstance(v, (str, bytes))), default=1) \
            if isinstance(table, dict) else 1
        budget.charge(len(text) * max(longest, 1))
        return method(table)
    return guarded


_STRINGS = (str, bytes, bytearray)
_METHOD_GUARDS: dict[str, Callable] = {
    "append": _grow(lambda a, k: 1), "insert": _grow(lambda a, k: 1), "add": _grow(lambda a, k: 1),
    "setdefault": _grow(lambda a, k: 1), "extend": _extend, "update": _extend,
    "join": _join, "center": _pad, "ljust": _pad, "rjust": _pad, "zfill": _pad, "replace": _replace,
    "expandtabs": _expandtabs, "split": _split, "rsplit": _split, "splitlines": _split, "translate": _translate,
}
_GUARDED_RECEIVERS: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(("append", "insert", "add", "setdefault", "extend", "update"), (list, set, dict, bytearray)),
    **dict.fromkeys(("join", "center", "ljust", "rjust", "zfill", "replace", "expandtabs", "split", "rsplit",
                     "splitlines", "translate"), _STRINGS),
}

_INPLACE: dict[str, Callable] = {
    "+=": Budget.add, "*=": Budget.mul, "**=": Budget.pow, "<<=": Budget.lshift, "%=": Budget.mod,
    "-=": lambda b, x, y: operator.isub(x, y), "/=": lambda b, x, y: operator.itruediv(x, y),
    "//=": lambda b, x, y: operator.ifloordiv(x, y), "|=": lambda b, x, y: operator.ior(x, y),
    "&=": lambda b, x, y: operator.iand(x, y), "^=": lambda b, x, y: operator.ixor(x, y),
    ">>=": lambda b, x, y: operator.irshift(x, y),
}


def _size(value: object) -> int:
    if isinstance(value, (str, bytes, bytearray)):
        return len(value)
    if isinstance(value, (list, tuple)):
        return len(value) * 8
    return 0


def _mb(nbytes: int) -> str:
    return f"{nbytes / 1_000_000:,.1f} MB"


def helpers(budget: Budget, builtins: dict) -> tuple[dict, dict]:
    """(the names the compiled code calls, builtins with the building ones guarded) for one run."""
    names = {
        "_tick_": budget.tick, "_item_": budget.item, "_mul_": budget.mul, "_pow_": budget.pow,
        "_lshift_": budget.lshift, "_add_": budget.add, "_mod_": budget.mod, "_fmt_": budget.format_value,
        "_inplacevar_": budget.inplace, "_getattr_": budget.getattr, "_write_": budget.write,
    }
    guarded = dict(builtins)
    guarded["range"] = budget.range
    guarded["pow"] = budget.pow
    for name in ("list", "tuple", "set", "frozenset", "sorted", "dict"):
        if name in guarded:
            guarded[name] = budget.materializing(builtins[name])
    return names, guarded


# -- the compiler ------------------------------------------------------------------------------------------------

_BINOPS = {ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_", ast.Add: "_add_", ast.Mod: "_mod_"}
FORBIDDEN_ATTRIBUTES = frozenset({"format", "format_map"})


def _call(name: str, *args: ast.expr, like: ast.AST) -> ast.Call:
    node = ast.Call(func=ast.Name(name, ast.Load()), args=list(args), keywords=[])
    return ast.fix_missing_locations(ast.copy_location(node, like))


def _tick_statement(like: ast.AST) -> ast.Expr:
    return ast.fix_missing_locations(ast.copy_location(ast.Expr(_call("_tick_", like=like)), like))


class LimitingTransformer(RestrictingNodeTransformer):
    """RestrictedPython's policy plus the calls that enforce ``Limits`` (inserted after RestrictedPython has
    checked the node, so the helpers' underscore names are ours alone: a script cannot name them)."""

    def visit_Attribute(self, node):
        if node.attr in FORBIDDEN_ATTRIBUTES:
            self.error(node, f'".{node.attr}()" is not allowed (it can reach internals); use an f-string or "%".')
        return super().visit_Attribute(node)

    def visit_BinOp(self, node):
        node = super().visit_BinOp(node)
        helper = _BINOPS.get(type(node.op))
        return _call(helper, node.left, node.right, like=node) if helper else node

    def visit_FormattedValue(self, node):
        node = super().visit_FormattedValue(node)
        if node.format_spec is not None:
            node.value = _call("_fmt_", node.value, node.format_spec, ast.Constant(node.conversion), like=node)
            node.format_spec, node.conversion = None, -1
        return node

    def visit_For(self, node):
        node = super().visit_For(node)
        node.body.insert(0, _tick_statement(node.body[0]))
        return node

    def visit_While(self, node):
        node = super().visit_While(node)
        node.body.insert(0, _tick_statement(node.body[0]))
        return node

    def visit_FunctionDef(self, node):
        node = super().visit_FunctionDef(node)
        node.body.insert(0, _tick_statement(node.body[0]))
        return node

    def visit_Lambda(self, node):
        node = super().visit_Lambda(node)
        node.body = _call("_tick_", node.body, like=node.body)
        return node

    def _comprehension(self, node: Any, keeps_items: bool) -> Any:  # a comprehension node, as visited
        for generator in node.generators:
            generator.ifs.insert(0, _call("_tick_", ast.Constant(True), like=generator.iter))
        if keeps_items:
            node.generators[-1].ifs.append(_call("_item_", like=node.generators[-1].iter))
        return node

    def visit_ListComp(self, node):
        return self._comprehension(super().visit_ListComp(node), True)

    def visit_SetComp(self, node):
        return self._comprehension(super().visit_SetComp(node), True)

    def visit_DictComp(self, node):
        return self._comprehension(super().visit_DictComp(node), True)

    def visit_GeneratorExp(self, node):
        return self._comprehension(super().visit_GeneratorExp(node), False)
