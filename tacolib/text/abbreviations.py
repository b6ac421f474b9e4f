"""Abbreviations: titles, streets, months, Latin, initialisms.

A period after an abbreviation is not a full stop, except when it is both: "on Elm
St. It was late" ends a sentence after "street". The rule used here: a period that is
followed by a capitalized word or by the end of the text, after an abbreviation that
does not announce a name (not a title such as "Dr." or "Mr."), stays as a full stop.
Case matters ("St. Paul" is a saint, "Elm St." a street), so this step runs before
:func:`~tacolib.text.cleanup.lowercase`.
"""

from __future__ import annotations

import re

__all__ = ["expand_abbreviations", "MONTHS"]

MONTHS = "january february march april may june july august september october november december".split()

# titles come before a name: their period is never a full stop
_TITLES = {
    "mrs": "missus", "mr": "mister", "ms": "miz", "drs": "doctors", "prof": "professor",
    "capt": "captain", "col": "colonel", "gen": "general", "gov": "governor", "lt": "lieutenant",
    "maj": "major", "sgt": "sergeant", "rev": "reverend", "hon": "honorable", "pres": "president",
    "sen": "senator", "rep": "representative", "supt": "superintendent", "messrs": "messieurs",
}
# the rest can end a sentence
_WORDS = {
    "jr": "junior", "sr": "senior", "co": "company", "corp": "corporation", "ltd": "limited",
    "inc": "incorporated", "esq": "esquire", "bros": "brothers", "assn": "association",
    "univ": "university", "dept": "department", "govt": "government", "intl": "international",
    "natl": "national", "approx": "approximately", "vs": "versus", "etc": "et cetera",
    "ave": "avenue", "blvd": "boulevard", "rd": "road", "ln": "lane", "hwy": "highway",
    "pkwy": "parkway", "expy": "expressway", "apt": "apartment", "bldg": "building", "cf": "compare",
    "jan": "january", "feb": "february", "aug": "august", "sept": "september", "oct": "october",
    "nov": "november", "dec": "december",
}
_BEFORE_NUMBER = {  # "No. 5", "p. 37", "Fig. 3": only before a number
    "no": "number", "nos": "numbers", "p": "page", "pp": "pages", "fig": "figure", "figs": "figures",
    "vol": "volume", "vols": "volumes", "ch": "chapter", "sec": "section", "art": "article", "eq": "equation",
    "mar": "march", "apr": "april", "jun": "june", "jul": "july", "sep": "september",
}
_BEFORE_NAME = {"mt": "mount", "ft": "fort", "pt": "point"}  # "Mt. Everest", but "6 ft." is feet
_MONTH_ABBREV = {**{k: v for k, v in _WORDS.items() if v in MONTHS}, **{k: v for k, v in _BEFORE_NUMBER.items() if v in MONTHS}}

_STOP = r"(?=\s+[A-Z]|\s*$)"  # what follows a period that is also a full stop
_NAME = r"(?=\s?(?-i:[A-Z]))"  # a capitalized word follows (even under re.I)


def _sub(pattern: str, words: str, text: str, flags=re.I, keep_stop: bool = True) -> str:
    """Replace ``pattern`` (which ends at the abbreviation's period) by ``words``; the period
    stays when it also ends a sentence."""
    def repl(m: re.Match) -> str:
        if keep_stop and m.group(0).endswith(".") and re.match(_STOP, text[m.end():]):
            return words + "."
        return words

    return re.sub(pattern, repl, text, flags=flags)


_LATIN = [
    (r"(?<![A-Za-z])e\.\s?g\.", "for example"), (r"(?<![A-Za-z])i\.\s?e\.", "that is"), (r"(?<![A-Za-z])a\.k\.a\.", "also known as"),
    (r"(?<![A-Za-z])et al\.", "et al"), (r"(?<![A-Za-z])viz\.", "namely"),
]
# "U.S.", "D.C.", "Ph.D.": capitals with periods, said one by one ("A.M." and "P.M." are times)
_INITIALISM_RE = re.compile(r"(?<![A-Za-z])(?![AaPp]\.[Mm]\.)((?:[A-Z]\.){2,})|(?<![A-Za-z])((?:[A-Z][a-z]?\.){2,})")


def _initialism(m: re.Match, text: str) -> str:
    letters = " ".join(c for c in m.group(0) if c.isalpha())
    return letters + ("." if re.match(_STOP, text[m.end():]) else "")


def _street_or_saint(text: str) -> str:
    """``St.`` is "saint" before a name ("St. Paul", "at St. Mary's") unless it follows a
    capitalized word or a number ("Elm St.", "1428 Elm St. It was late"): then "street"."""
    def repl(m: re.Match) -> str:
        before = text[: m.start()].rstrip()
        after = text[m.end():]
        address = bool(re.search(r"(?:\b[A-Z][a-z]+|\d)$", before))
        if re.match(_NAME, after) and not address:
            return "saint"
        if m.group(0).endswith(".") and re.match(_STOP, after):
            return "street."
        return "street"

    text = re.sub(r"(?<![A-Za-z0-9])St\.|(?<![A-Za-z0-9])ST\.|(?<![A-Za-z0-9])st\.(?=\s?[A-Z])|(?<![A-Za-z0-9])St(?![A-Za-z])(?=\s?[A-Z]|\s*[,.;]|\s*$)", repl, text)
    return re.sub(r"(?<![A-Za-z0-9])st\.", "street", text)


def _drive_or_doctor(text: str) -> str:
    """``Dr.`` is "doctor" before a name, "drive" after a street name ("Mulholland Dr.")."""
    def repl(m: re.Match) -> str:
        before = text[: m.start()].rstrip()
        after = text[m.end():]
        if re.search(r"(?:\b[A-Z][a-z]+|\d)$", before) and not re.match(_NAME, after):
            return "drive." if re.match(_STOP, after) else "drive"
        return "doctor"

    return re.sub(r"(?<![A-Za-z])Dr\.", repl, text)


def expand_abbreviations(text: str) -> str:
    """Spell out common abbreviations.

    ``Mr.`` -> mister, ``Dr. Smith`` -> doctor smith, ``Co.`` -> company, ``etc.`` -> et
    cetera, ``e.g.`` -> for example, ``No. 5`` -> number 5, ``p. 37`` -> page 37,
    ``Oct 3`` / ``Oct. 3`` -> october 3, ``U.S.`` -> U S. ``St.`` is "saint" before a
    name and "street" after one; ``Mt.``/``Ft.`` are mount/fort only before a name (``6
    ft.`` is read by the units step). A period that also ends a sentence stays
    ("... and Co. The end" -> "... and company. The end").
    """
    for pattern, words in _LATIN:
        text = _sub(pattern, words, text)
    text = _street_or_saint(text)
    text = _drive_or_doctor(text)
    for abbr, words in _TITLES.items():
        text = _sub(rf"(?<![A-Za-z]){abbr}\.", words, text, keep_stop=False)
    text = _sub(r"(?<![A-Za-z])dr\.", "doctor", text, keep_stop=False)
    for abbr, words in _BEFORE_NAME.items():
        text = re.sub(rf"(?<![A-Za-z]){abbr}\.{_NAME}", words, text, flags=re.I)
    for abbr, words in _BEFORE_NUMBER.items():
        text = re.sub(rf"(?<![A-Za-z]){abbr}\.(?=\s?#?\d)", words, text, flags=re.I if len(abbr) > 1 else 0)
    for abbr, words in _MONTH_ABBREV.items():  # "Oct 3", "Jan-15-2020" (no period)
        text = re.sub(rf"(?<![A-Za-z]){abbr}(?![A-Za-z])(?=[\s-]?\d)", words, text, flags=re.I)
    for abbr, words in _WORDS.items():  # "3rd." is an ordinal, not a road
        text = _sub(rf"(?<![A-Za-z{'0-9' if abbr == 'rd' else ''}]){abbr}\.", words, text)
    return _INITIALISM_RE.sub(lambda m: _initialism(m, text), text)
