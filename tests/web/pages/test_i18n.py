"""Both languages, always: the Chinese catalog translates every message, including the texts kept in data
(form schemas, BPMN names, departments), so a new form field cannot ship in English only."""
from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[3]
CATALOG = ROOT / "app" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"


def _catalog():
    with CATALOG.open("rb") as fh:
        return read_po(fh)


def test_every_message_of_the_chinese_catalog_is_translated():
    untranslated = [m.id for m in _catalog() if m.id and not m.string]
    assert untranslated == []


def test_the_catalog_holds_every_text_of_the_forms_processes_and_templates():
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    extracted = {message for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords={"_": None, "gettext": None, "ngettext": (1, 2),
                                                       "_l": None, "lazy_gettext": None})}
    known = {m.id for m in _catalog() if m.id}
    missing = sorted(m for m in extracted if isinstance(m, str) and m not in known)
    assert missing == [], "run pybabel extract/update (babel.cfg) and translate: " + "; ".join(missing[:10])
