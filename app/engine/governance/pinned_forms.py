"""The forms a definition version pins: the content of every form file its user tasks name, read at deploy.

A version's identity and its sign-off include its forms (``forms_digest``): definitions.deploy makes a new version
when a named form's content changed, and reviews.require_signoff asks for an approval of the BPMN file together
with the forms its own user tasks name (a called process's forms are covered by that process's own sign-off).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from pathlib import Path

from app.engine.workflow.parsing import form_names


def read_forms(forms_dir: Path, names: Collection[str], overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """File name -> content of the named forms: from ``overrides`` (a draft's forms) when it has the name, else
    the file in ``forms_dir``; a missing file is left out (validation has refused a definition naming one before
    this is asked)."""
    found = {}
    for name in sorted(names):
        if overrides and name in overrides:
            found[name] = overrides[name]
            continue
        path = Path(forms_dir) / name
        if Path(name).name == name and path.is_file():
            found[name] = path.read_text(encoding="utf-8")
    return found


def forms_of(forms_dir: Path, *sources: bytes | str, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The content of the forms the user tasks of the given BPMN files name, as the files in ``forms_dir`` are
    (``overrides``: a draft's forms, taken over the files)."""
    return read_forms(forms_dir, set().union(*(form_names(source) for source in sources)), overrides)


def forms_digest(forms: Mapping[str, str]) -> str:
    """sha256 over the names and contents; the same forms give the same digest whatever the order."""
    canonical = json.dumps(sorted(forms.items()), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
