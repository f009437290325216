"""pybabel extractors for texts that live in data, not code (see babel.cfg): the JSON Schemas' titles,
descriptions and choice titles, the BPMN elements' names, the department names, the deadline extensions'
titles and the segregation-of-duties rules' titles. The pages look them up in the catalog at render time, so the
data files stay in English, the source language."""
from __future__ import annotations

import json
import tomllib

from lxml import etree

from app.web.pages.form_renderer import choices_of


def extract_schema(fileobj, keywords, comment_tags, options):
    schema = json.load(fileobj)
    seen: set[str] = set()
    for text in _schema_texts(schema):
        if text and text not in seen:
            seen.add(text)
            yield 1, "gettext", text, ["JSON Schema form text"]


def _schema_texts(node):
    if isinstance(node, dict):
        for key in ("title", "description"):
            if isinstance(node.get(key), str):
                yield node[key]
        if "enum" in node or "oneOf" in node:
            yield from (title for _code, title in choices_of(node))
        for key, value in node.items():
            if key != "x-i18n":  # the owner's own translations: already in the reader's language
                yield from _schema_texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schema_texts(value)


def extract_bpmn(fileobj, keywords, comment_tags, options):
    seen: set[str] = set()
    for node in etree.parse(fileobj).iter():
        name = node.get("name") if isinstance(node.tag, str) and node.get("id") else None
        if name:
            name = " ".join(name.split())
            if name not in seen:
                seen.add(name)
                yield node.sourceline or 1, "gettext", name, ["BPMN element name"]


def extract_departments(fileobj, keywords, comment_tags, options):
    for name in tomllib.load(fileobj).get("departments", {}).values():
        yield 1, "gettext", name, ["Department name"]


def extract_extension_titles(fileobj, keywords, comment_tags, options):
    """The titles of the deadline extensions of every SLA profile in config/sla.toml."""
    seen: set[str] = set()
    for profile in tomllib.load(fileobj).get("profiles", {}).values():
        for sla in profile.get("slas", {}).values():
            for extension in sla.get("extensions", []):
                title = extension.get("title")
                if title and title not in seen:
                    seen.add(title)
                    yield 1, "gettext", title, ["Deadline extension title"]


def extract_segregation_titles(fileobj, keywords, comment_tags, options):
    """The titles of the segregation-of-duties rules in config/segregation.toml (a refused person reads them)."""
    for rule in tomllib.load(fileobj).get("rules", {}).values():
        title = " ".join(str(rule.get("title", "")).split())  # as the loader keeps it
        if title:
            yield 1, "gettext", title, ["Segregation of duties rule title"]
