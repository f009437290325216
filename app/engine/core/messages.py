"""Messages for people that the engine writes and an adapter says in the reader's language (the engine has no
Flask, so it cannot translate).

A ``Message`` is a ``str``: its English, what a log, the CLI, a test or an API client reading English gets, so
every place that handles messages as text keeps working. It also carries its catalog ``key`` (the English with
``%(name)s`` placeholders, marked with ``N_`` so pybabel extracts it) and the ``params`` to put in. A param that
is itself words of a form or of the configuration (a field's title, a department's name) is ``Words``: its
English and, if the form wrote one, its Chinese; the adapter says it in the reader's language too
(app/web/messages.py).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass


def N_(message: str) -> str:
    """Marks a message for the catalog (pybabel's default keyword); it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class Words:
    """A name from a form or the configuration. ``common``: a common noun ("Redress amount"), written with a
    small letter inside an English sentence ("Enter the redress amount"); a proper name ("Credit cards") is not."""

    en: str
    zh: str = ""
    common: bool = True

    def in_sentence(self) -> str:
        """The English as it stands inside a sentence: "Redress amount" -> "redress amount", "DISP rules" as is."""
        text = self.en
        if self.common and len(text) > 1 and text[0].isupper() and not text[1].isupper():
            return text[0].lower() + text[1:]
        return text


Param = str | int | float | Words


class Message(str):
    """A message for a person: the English as a ``str``, with ``key`` and ``params`` to say it in another
    language (``said``)."""

    key: str
    params: Mapping[str, Param]

    def __new__(cls, key: str, **params: Param) -> Message:
        text = key % {name: value.in_sentence() if isinstance(value, Words) else value
                      for name, value in params.items()} if params else key
        message = super().__new__(cls, text)
        message.key = key
        message.params = dict(params)
        return message

    def __reduce__(self):  # copy and pickle rebuild it from its key, not from the English text
        return _rebuilt, (self.key, dict(self.params))

    def said(self, translate: Callable[[str], str], words: Callable[[Words], str]) -> str:
        """The message in a reader's language: ``translate`` looks a key up in their catalog, ``words`` says a
        name their way."""
        template = translate(self.key)
        if not self.params:
            return template
        values = {name: words(value) if isinstance(value, Words) else value for name, value in self.params.items()}
        try:
            return template % values
        except (KeyError, TypeError, ValueError):  # a catalog entry with other placeholders: the English stands
            return str(self)


def _rebuilt(key: str, params: dict) -> Message:
    return Message(key, **params)
