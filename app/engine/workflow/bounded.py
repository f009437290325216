"""Expressions cheap enough by their shape to evaluate in this process, without a round trip to a sandbox worker.

Most expressions of a process are gateway conditions and timer durations: ``decision == "approve"``,
``sla_due_at("first_response", received_at)``, ``"a" if satisfied is None else "b"``. An expression built only
of names, constants, comparisons, ``and``/``or``/``not``, ``x if c else y``, literal lists/tuples/sets/dicts,
subscripts by a name or a constant, unary ``-``/``+``/``~`` and calls of the functions this process exposes
(``sla_due_at`` ..., which run here in any case) cannot loop, recurse, multiply, format or call a builtin: its
time and memory are linear in its own length and in the size of the task data it reads, whatever the data. Any
other expression, and every script, runs in a sandbox worker with hard limits (``sandbox.py``).
"""
from __future__ import annotations

import ast
from functools import lru_cache

_LEAVES = (ast.Constant, ast.Name, ast.Load, ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd, ast.Invert,
           ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.In, ast.NotIn)
_BRANCHES = (ast.Expression, ast.BoolOp, ast.UnaryOp, ast.Compare, ast.IfExp, ast.List, ast.Tuple, ast.Set,
             ast.Dict, ast.keyword)


@lru_cache(maxsize=1024)
def called_names(expression: str) -> frozenset[str] | None:
    """The names of the functions ``expression`` calls if its shape bounds its cost (see above), else None."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError):
        return None  # the sandbox reports it
    called: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or any(isinstance(a, ast.Starred) for a in node.args) \
                    or any(k.arg is None for k in node.keywords):
                return None
            called.add(node.func.id)
        elif isinstance(node, ast.Subscript):
            if not isinstance(node.slice, (ast.Constant, ast.Name)):
                return None
        elif isinstance(node, ast.Dict):
            if any(key is None for key in node.keys):  # {**x}
                return None
        elif isinstance(node, ast.Name):
            if node.id.startswith("_"):
                return None  # RestrictedPython refuses it; the sandbox says so
        elif not isinstance(node, _LEAVES + _BRANCHES):
            return None
    return frozenset(called)
