"""The house rules of the architecture: the engine never imports Flask, so tests, the CLI, the scheduler and the
web drive the same services; every engine module imports on its own (no import cycle hides behind an order); and
the import contract of pyproject.toml holds (floors, the engine's package order, no cycle at any level)."""
from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import app.engine
import app.tasks

ROOT = Path(__file__).resolve().parents[1]
ENGINE_MODULES = sorted(m.name for package in (app.engine, app.tasks)
                        for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
                        if ".migrations" not in m.name)


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_importing_every_engine_module_loads_no_flask():
    assert len(ENGINE_MODULES) > 30
    result = _run("import importlib, sys\n"
                  f"for name in {ENGINE_MODULES!r}: importlib.import_module(name)\n"
                  "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'flask_login', "
                  "'flask_babel', 'flask_wtf', 'flask_limiter', 'flask_smorest')))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_each_engine_module_imports_first_without_a_cycle():
    # One interpreter per module would be slow; a fresh one imports each module first in turn by name order
    # after clearing what the previous left, which is what a cycle needs to show itself.
    result = _run("import importlib, sys\n"
                  "base = set(sys.modules)\n"
                  f"for name in {ENGINE_MODULES!r}:\n"
                  "    for loaded in [m for m in sys.modules if m.startswith('app') and m not in base]:\n"
                  "        del sys.modules[loaded]\n"
                  "    importlib.import_module(name)\n")
    assert result.returncode == 0, result.stderr


def test_the_import_contract_holds():
    # The same check ./test runs first; here too, so `pytest` alone catches an upward import or a cycle.
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert result.stdout.count(" KEPT") >= 5 and "BROKEN" not in result.stdout
