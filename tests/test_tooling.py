"""The house's tooling rules that mypy alone does not enforce."""
from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[1] / "app" / "engine"

# Public engine functions (no leading underscore, in a public class or at module level) whose annotations may
# mention ``Any``: "module:Class.function" -> why nothing more precise fits. Empty today: a value of any type is
# ``object``, a JSON payload ``Mapping[str, object]``. Add an entry only with its reason.
ALLOWED_ANY: dict[str, str] = {
    # An element's aspects are values of many shapes (names, scripts, lists of roles, a form's fields) that the
    # diff only compares with == and hands to the page; the review code reads them as the strings they are.
    "app.engine.workflow.diff:elements_of": "heterogeneous aspect values, compared and shown, never computed on",
}


def _mentions_any(annotation: ast.expr) -> bool:
    for node in ast.walk(annotation):
        if isinstance(node, ast.Name) and node.id == "Any":
            return True
        if isinstance(node, ast.Attribute) and node.attr == "Any":   # typing.Any, t.Any
            return True
        if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a quoted annotation
            try:
                if _mentions_any(ast.parse(node.value, mode="eval").body):
                    return True
            except SyntaxError:
                pass
    return False


def _is_public(name: str) -> bool:
    return not name.startswith("_") or (name.startswith("__") and name.endswith("__"))


def _public_functions_with_any(tree: ast.Module, module: str) -> set[str]:
    found: set[str] = set()

    def walk(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef) and _is_public(node.name):
                walk(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _is_public(node.name):
                args = node.args
                annotations = [a.annotation for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg,
                                                      args.kwarg) if a is not None and a.annotation is not None]
                if node.returns is not None:
                    annotations.append(node.returns)
                if any(_mentions_any(a) for a in annotations):
                    found.add(f"{module}:{prefix}{node.name}")

    walk(tree.body, "")
    return found


def engine_functions_with_any() -> set[str]:
    found: set[str] = set()
    for path in sorted(ENGINE.rglob("*.py")):
        parts = path.relative_to(ENGINE.parents[1]).with_suffix("").parts
        if "versions" in parts:  # Alembic revisions: generated, not the engine's API
            continue
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found |= _public_functions_with_any(ast.parse(path.read_text(encoding="utf-8")), module)
    return found


def test_no_new_any_in_engine_public_signatures():
    found = engine_functions_with_any()
    new = sorted(found - set(ALLOWED_ANY))
    assert not new, ("These public engine functions mention Any in their signature; use a precise type (object, "
                     f"Mapping[str, object], a TypedDict, a Protocol) or allow-list them with a reason: {new}")
    stale = sorted(set(ALLOWED_ANY) - found)
    assert not stale, f"No longer mention Any: remove them from ALLOWED_ANY: {stale}"


def test_the_scan_sees_any_in_every_spelling():
    source = '''
def plain(x: Any) -> None: ...
def qualified(x) -> typing.Any: ...
def quoted(x: "dict[str, Any]") -> None: ...
def _private(x: Any) -> None: ...
def precise(x: object, **kw: object) -> Mapping[str, object]: ...
class Public:
    def method(self, *args: Any) -> None: ...
    def __init__(self, x: Any) -> None: ...
class _Hidden:
    def method(self, x: Any) -> None: ...
'''
    assert _public_functions_with_any(ast.parse(source), "m") == {
        "m:plain", "m:qualified", "m:quoted", "m:Public.method", "m:Public.__init__"}
