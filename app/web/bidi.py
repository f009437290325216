"""Text people typed (names, descriptions, reasons) shown among our own words, in pages and in the CSV export.

Bidirectional controls in such text (U+202E RIGHT-TO-LEFT OVERRIDE, the embeddings and isolates) reorder what
follows them: "Mary\u202eexe.fdp" reads "Marypdf.exe", and on a page an override left open runs on into the
text after the name. Pages isolate each such value in ``<bdi>`` (the ``bidi`` filter): its direction comes from
its own first strong character, and nothing inside reaches outside. A CSV cell has no markup: the export writes
each control as a visible ``[U+202E]``, so the reader sees the trick instead of falling for it.
"""
from __future__ import annotations

import re

from markupsafe import Markup, escape

# Embeddings, overrides and their terminator (U+202A..U+202E); isolates and theirs (U+2066..U+2069). The marks
# (U+200E, U+200F, U+061C) only set a direction where they stand and are left alone.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def isolate(value: object) -> Markup:
    """Jinja filter ``bidi``: ``<bdi>value</bdi>``, escaped (Markup stays markup); nothing for None."""
    if value is None:
        return Markup("")
    return Markup("<bdi>%s</bdi>") % escape(value)


def neutralise(text: str) -> str:
    """The text with every bidirectional control written out as ``[U+XXXX]``."""
    return BIDI_CONTROLS.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)
