"""The engine's messages for people (app/engine/core/messages.py) in the request's language: the pages' (the
user's choice) and the API's (Accept-Language). A ``Message`` is looked up by its key in the catalog, its names
(a field's title, a department) said as the form or the catalog has them in that language; any other message
goes through the catalog as written (the engine marks its fixed messages with ``N_``), else stays as it is."""
from __future__ import annotations

from flask import g
from flask_babel import get_locale, get_translations

from app.engine.core.messages import Message, Words


def say(message: object) -> str:
    """One message in the reader's language (English: the message as the engine wrote it)."""
    if isinstance(message, Message):
        return message.said(_translate, _words)
    return _translate(str(message))


def _translate(text: str) -> str:
    found = g.get("_complaintflow_translations")  # the pages look the catalog up once per request (pages/i18n.py)
    return (found or get_translations()).ugettext(text)


def _words(words: Words) -> str:
    if words.zh and get_locale() is not None and get_locale().language == "zh":
        return words.zh
    said = _translate(words.en)
    return words.in_sentence() if said == words.en else said  # untranslated: English, inside an English sentence
