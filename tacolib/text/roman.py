"""Roman numerals where their shape is unambiguous: ``Chapter IX``, ``World War II``, ``Henry VIII``.

Only two contexts are read, because a bare ``I``, ``V`` or ``MIX`` is usually a word or
a letter: after a word that numbers a part of something (``Chapter IX`` -> "chapter
nine", ``Act III`` -> "act three", ``World War II`` -> "world war two"), and after the
name of a monarch or a pope (``Henry VIII`` -> "henry the eighth", ``Elizabeth I`` ->
"elizabeth the first", ``Pope John Paul II`` -> "pope john paul the second").
"""

from __future__ import annotations

import re

from tacolib.text.words import number_to_words, ordinal_to_words

__all__ = ["roman_to_int", "expand_roman"]

_PARTS = ("chapter book part volume vol act scene section article appendix phase stage psalm canto "
          "plate figure class type grade level round war series title annex stanza")
_REGNAL = ("Henry Edward George William Charles James Richard Louis Elizabeth Mary Anne John Paul Pius Leo "
           "Gregory Benedict Innocent Clement Alexander Peter Frederick Philip Ferdinand Nicholas Ivan Catherine "
           "Constantine Ramesses Ptolemy Otto Wilhelm Gustav Christian Carlos Pedro Alfonso Umberto Harald Haakon "
           "Olav Napoleon Francis Rudolf Leopold Boniface Urban Sixtus Julius Pedro Victor Emmanuel Amenhotep "
           "Thutmose Darius Xerxes Cyrus Sancho Manuel Ludwig Joseph Maximilian Casimir Sigismund Stephen Malcolm David Robert")
_ROMAN = r"(?=[MDCLXVI])M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})"
_PART_RE = re.compile(rf"\b((?i:{'|'.join(_PARTS.split())})\.?\s)({_ROMAN})\b(?!['’]\w)")
_REGNAL_RE = re.compile(rf"\b((?:{'|'.join(sorted(set(_REGNAL.split())))})\s)({_ROMAN})\b(?!\.\w)")
_LONE_I = r"(?=\s+of\b|\s*[,.;:)]|\s*$)"  # "Elizabeth I of England", "Chapter I." -- not "Part I think"
_VALUES = {"M": 1000, "D": 500, "C": 100, "L": 50, "X": 10, "V": 5, "I": 1}


def roman_to_int(s: str) -> int:
    """``"XIV"`` -> 14 (upper-case numerals; no validation beyond the letters)."""
    total = 0
    for i, c in enumerate(s):
        v = _VALUES[c]
        total += -v if i + 1 < len(s) and _VALUES[s[i + 1]] > v else v
    return total


def expand_roman(text: str) -> str:
    """``Chapter IX`` -> "Chapter nine", ``World War II`` -> "World War two", ``Henry VIII``
    -> "Henry the eighth" (see the module docstring for when a numeral is read)."""
    def lone_i(m: re.Match) -> bool:  # a bare "I" is the pronoun unless the context says otherwise
        return m.group(2) == "I" and not (m.group(1)[0].isupper() and re.match(_LONE_I, text[m.end():]))

    def part(m: re.Match) -> str:
        return m.group(0) if lone_i(m) else m.group(1) + number_to_words(roman_to_int(m.group(2)))

    def regnal(m: re.Match) -> str:
        return m.group(0) if lone_i(m) else f"{m.group(1)}the {ordinal_to_words(roman_to_int(m.group(2)))}"

    text = _PART_RE.sub(part, text)
    return _REGNAL_RE.sub(regnal, text)
