"""The clause library of config/letters.toml: per regime and letter kind, the ordered elements a letter is made of
(id, mandatory, the facts each needs, an optional condition, its text per language as a Jinja snippet). An
element may instead borrow another letter's element of the same regime and id (``from = "<kind>"``): one text
that two letters say (the referral rights of a final response, restated when the decision is maintained), so
compliance edits and signs it off once.

Read and checked once with the settings; its ``checksum`` (sha256 of the file's bytes) is what compliance signs
off (app/engine/governance/letter_library.py). What is checked here, each error naming the file, the list and
the element: an unknown key, an id twice in one list, a text missing in a language, a snippet or condition that
does not parse, a borrowed element naming a letter the library has not (or an element itself borrowed). A
borrowed element whose letter no longer has that id is dropped with it: when mandated, the mandated-element
check refuses the letter. Which elements the regulations mandate is the engine's (app/engine/letters/clauses.py)."""
from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, TemplateSyntaxError

FILE_NAME = "letters.toml"
LANGUAGES = ("en", "zh_CN")
ELEMENT_KEYS = frozenset({"id", "mandatory", "needs", "when", *LANGUAGES})
BORROW_KEY = "from"     # an element that is another letter's element of the same regime and id


class LetterLibraryError(ValueError):
    """config/letters.toml breaks a rule; the message names where."""


@dataclass(frozen=True)
class Element:
    id: str
    mandatory: bool
    needs: tuple[str, ...]
    when: str | None
    texts: dict[str, str]          # language -> Jinja snippet
    borrowed_from: str | None = None   # the letter kind whose element of this id this one is (``from``)


@dataclass(frozen=True)
class LetterLibrary:
    checksum: str = ""
    source: str = ""
    lists: dict[tuple[str, str], tuple[Element, ...]] = field(default_factory=dict)  # (regime, kind) -> elements

    def elements(self, regime: str, kind: str) -> tuple[Element, ...]:
        return self.lists.get((regime, kind), ())

    def regimes(self) -> list[str]:
        return sorted({regime for regime, _ in self.lists})


def load_letter_library(config_dir: Path) -> LetterLibrary:
    return library_from_source((Path(config_dir) / FILE_NAME).read_bytes())


def checksum_of(source: bytes | str) -> str:
    return hashlib.sha256(source.encode("utf-8") if isinstance(source, str) else source).hexdigest()


def library_from_source(source: bytes | str) -> LetterLibrary:
    """The library in ``source`` (the file's bytes: its checksum is theirs), checked."""
    raw = source.encode("utf-8") if isinstance(source, str) else source
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise LetterLibraryError(f"config/{FILE_NAME}: not valid TOML: {err}") from None
    lists: dict[tuple[str, str], tuple[Element, ...]] = {}
    for regime, kinds in data.items():
        if not isinstance(kinds, dict):
            raise LetterLibraryError(f"config/{FILE_NAME}: {regime!r} must be a table of letter kinds")
        for kind, items in kinds.items():
            where = f"config/{FILE_NAME}, [[{regime}.{kind}]]"
            if not isinstance(items, list) or not items:
                raise LetterLibraryError(f"{where}: must be a list of elements")
            elements = [_element(item, where) for item in items]
            ids = [e.id for e in elements]
            twice = sorted({i for i in ids if ids.count(i) > 1})
            if twice:
                raise LetterLibraryError(f"{where}: element id(s) listed twice: {', '.join(twice)}")
            lists[(regime, kind)] = tuple(elements)
    lists = {key: tuple(e for e in (_resolve(lists, key, e) for e in elements) if e is not None)
             for key, elements in lists.items()}
    return LetterLibrary(checksum=checksum_of(raw), source=raw.decode("utf-8"), lists=lists)


_PARSER = Environment()


def _resolve(lists: dict[tuple[str, str], tuple[Element, ...]], key: tuple[str, str],
             element: Element) -> Element | None:
    """A borrowed element as the element it names (its texts, needs, condition and flag), keeping where from.
    None when that letter no longer has the element: the borrower loses it too, and a mandated one is then
    refused by the mandated-element check, naming it, exactly as in the letter it came from."""
    if element.borrowed_from is None:
        return element
    regime, kind = key
    where = f"config/{FILE_NAME}, [[{regime}.{kind}]], element {element.id!r}"
    if (regime, element.borrowed_from) not in lists:
        raise LetterLibraryError(f"{where}: from = {element.borrowed_from!r} names no letter of the library "
                                 f"([[{regime}.{element.borrowed_from}]])")
    source = next((e for e in lists[(regime, element.borrowed_from)] if e.id == element.id), None)
    if source is None:
        return None
    if source.borrowed_from is not None:
        raise LetterLibraryError(f"{where}: borrows [[{regime}.{element.borrowed_from}]] {element.id!r}, which is "
                                 "itself borrowed: name the letter that writes it")
    return Element(id=source.id, mandatory=source.mandatory, needs=source.needs, when=source.when,
                   texts=source.texts, borrowed_from=element.borrowed_from)


def _element(item: object, where: str) -> Element:
    if not isinstance(item, dict):
        raise LetterLibraryError(f"{where}: every element is a table")
    element_id = item.get("id")
    if not isinstance(element_id, str) or not element_id.isidentifier():
        raise LetterLibraryError(f"{where}: element id {element_id!r} must be a name (letters, digits, _)")
    where = f"{where}, element {element_id!r}"
    if BORROW_KEY in item:
        source = item[BORROW_KEY]
        if set(item) - {"id", BORROW_KEY}:
            raise LetterLibraryError(f"{where}: a borrowed element (from) has only id and from; its text, needs, "
                                     "condition and flag are the element it borrows")
        if not isinstance(source, str) or not source.isidentifier():
            raise LetterLibraryError(f"{where}: from must name a letter kind, not {source!r}")
        return Element(id=element_id, mandatory=False, needs=(), when=None, texts={}, borrowed_from=source)
    unknown = set(item) - ELEMENT_KEYS
    if unknown:
        raise LetterLibraryError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    mandatory = item.get("mandatory", False)
    needs = item.get("needs", [])
    if not isinstance(mandatory, bool):
        raise LetterLibraryError(f"{where}: mandatory must be true or false")
    if not isinstance(needs, list) or not all(isinstance(n, str) and n.isidentifier() for n in needs):
        raise LetterLibraryError(f"{where}: needs must be a list of fact names")
    when = item.get("when")
    if when is not None:
        try:
            _PARSER.compile_expression(str(when))
        except TemplateSyntaxError as err:
            raise LetterLibraryError(f"{where}: when {when!r} is not a valid expression: {err}") from None
    texts = {}
    for language in LANGUAGES:
        text = item.get(language)
        if not isinstance(text, str) or not text.strip():
            raise LetterLibraryError(f"{where}: needs its text in {language}")
        try:
            _PARSER.parse(text)
        except TemplateSyntaxError as err:
            raise LetterLibraryError(f"{where}: the {language} text does not parse: {err}") from None
        texts[language] = text
    return Element(id=element_id, mandatory=mandatory, needs=tuple(needs), when=str(when) if when else None,
                   texts=texts)
