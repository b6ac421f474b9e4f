"""Units of measure after a number: ``5km``, ``3.5 kg``, ``20mph``, ``25°C``, ``10 cm²``.

``5km`` -> "five kilometers", ``1 kg`` -> "one kilogram", ``a 5-km run`` -> "a
five-kilometer run" (a hyphen makes an adjective: singular), ``100 km/h`` -> "one
hundred kilometers per hour", ``10 cm²`` -> "ten square centimeters", ``-5°C`` ->
"minus five degrees Celsius", ``2-5 lb`` -> "two to five pounds", ``3x4`` -> "three by
four", ``2x`` -> "two times", ``12/kg`` -> "twelve per kilogram", ``3 μm`` -> "three
micrometers" (never "mm"). Numbers before a unit are quantities, never years.

Only units that cannot be mistaken for a word are read after a space; ``in`` (inch)
is read only when glued to its number ("5in"), ``s`` (second) only after a space
("80 s"; "80s" is a decade).
"""

from __future__ import annotations

import re

from tacolib.text.words import NUMBER, decimal_to_words, fraction_to_words, number_to_words

__all__ = ["UNITS", "expand_units"]

# abbreviations : singular : plural (plural defaults to singular + "s")
_SPEC = """
mm:millimeter|cm:centimeter|dm:decimeter|m:meter|km Km KM:kilometer|μm um:micrometer|nm:nanometer
in:inch:inches|ft:foot:feet|yd yds:yard|mi:mile
mg:milligram|g gr:gram|kg Kg KG kgs:kilogram|μg mcg:microgram|lb lbs:pound|oz:ounce
ml mL ML:milliliter|cl cL:centiliter|dl dL:deciliter|l L:liter|gal:gallon|fl oz:fluid ounce
tsp:teaspoon|tbsp Tbsp:tablespoon|cc:c c:c c
ms:millisecond|μs:microsecond|ns:nanosecond|s:second|sec secs:second|min mins:minute
h hr hrs:hour|wk wks:week|mo mos:month|yr yrs:year
mph MPH:mile per hour:miles per hour|kph kmh kmph:kilometer per hour:kilometers per hour
fps:frame per second:frames per second|rpm RPM:revolution per minute:revolutions per minute
bpm:beat per minute:beats per minute|mpg:mile per gallon:miles per gallon
KB kB kb:kilobyte|MB mb:megabyte|GB gb:gigabyte|TB tb:terabyte|PB:petabyte
Kb kbit:kilobit|Mb Mbit:megabit|Gb Gbit:gigabit
kbps Kbps:kilobit per second:kilobits per second|Mbps mbps:megabit per second:megabits per second
Gbps gbps:gigabit per second:gigabits per second
Hz:hertz:hertz|kHz khz KHz:kilohertz:kilohertz|MHz Mhz mhz:megahertz:megahertz|GHz Ghz ghz:gigahertz:gigahertz
W:watt|kW KW:kilowatt|MW:megawatt|GW:gigawatt|kWh KWh kwh:kilowatt hour|MWh:megawatt hour
GWh:gigawatt hour|TWh:terawatt hour|V:volt|mV:millivolt|kV:kilovolt|mA:milliamp|mAh:milliamp hour
Ah:amp hour|hp HP:horsepower:horsepower|J:joule|kJ:kilojoule|cal:calorie|kcal:kilocalorie
Pa:pascal|kPa:kilopascal|hPa:hectopascal|MPa:megapascal|psi:p s i:p s i|atm:atmosphere
dB:decibel|lm:lumen|ha:hectare|ppm:part per million:parts per million
ppb:part per billion:parts per billion|mol:mole
°C:degree Celsius:degrees Celsius|°F:degree Fahrenheit:degrees Fahrenheit|°K:kelvin:kelvin|°:degree
"""


def _table(spec: str) -> dict[str, tuple[str, str]]:
    table = {}
    for entry in spec.replace("\n", "|").split("|"):
        if entry.strip():
            abbrs, one, *many = entry.strip().split(":")
            for a in abbrs.split(" ") if abbrs != "fl oz" else [abbrs]:
                table[a] = (one, many[0] if many else one + "s")
    return table


UNITS: dict[str, tuple[str, str]] = _table(_SPEC)
"""Unit abbreviation -> (singular, plural)."""

_LENGTHS = {"mm", "cm", "dm", "m", "km", "Km", "KM", "μm", "um", "nm", "in", "ft", "yd", "mi"}
_GLUED_ONLY = {"in"}  # "5 in the box": not an inch
_SPACED_ONLY = {"s"}  # "80s" is a decade
_UNIT = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
_POW = r"\^?[23](?!\d)"
_SCALE = r"\s(?:thousand|million|billion|trillion)"
_UNIT_RE = re.compile(
    rf"(?<![\w.])(?P<neg>[-−])?(?P<num>{NUMBER})(?:(?P<range>\s?(?:-|–|to)\s?)(?P<num2>{NUMBER}))?"
    rf"(?P<scale>{_SCALE})?(?P<gap>-|\s?)(?P<sq>(?:sq|cu)\.?\s)?(?P<u>{_UNIT})(?P<p>{_POW})?"
    rf"(?:\s?/\s?(?P<sq2>(?:sq|cu)\.?\s)?(?P<u2>{_UNIT})(?P<p2>{_POW})?)?(?![\w'°])(?:\.(?=\s+[a-z]))?"
)  # "6 ft. tall": the abbreviation's period goes with it
_FRACTION_UNIT_RE = re.compile(rf"(?<![\w./])(?:(?P<whole>\d+)\s)?(?P<n>\d+)/(?P<d>\d+)\s?(?P<u>{_UNIT})(?![\w/°])")
_DIMENSION_RE = re.compile(
    rf"(?<![\w.])(?P<a>{NUMBER})\s?[x×]\s?(?P<b>{NUMBER})(?:\s?[x×]\s?(?P<c>{NUMBER}))?(?:\s?(?P<u>{_UNIT})(?P<p>{_POW})?)?(?![\w^])"
)
_TIMES_RE = re.compile(rf"(?<![\w.])(?P<a>{NUMBER})x(?![\w])")
_PER_WORD_RE = re.compile(rf"(?<=[A-Za-z])\s?/\s?(?P<u>{_UNIT})(?P<p>{_POW})?(?![\w/])")
_PER_NOUN_RE = re.compile(  # "$5.99/month", "500 mg/day": after a unit or a price
    r"(?<=[a-z])\s?/\s?(day|week|month|year|hour|minute|night|person|head|capita|unit|piece|item|share|user|dozen)\b"
)


def _quantity(num: str) -> str:
    return decimal_to_words(num) if "." in num else number_to_words(num)


def _unit_words(u: str, power: str | None, plural: bool, square: str | None = None) -> str:
    one, many = UNITS[u]
    words = many if plural else one
    power = (power or "").lstrip("^")
    if square:
        power = "2" if square.startswith("sq") else "3"
    if power and u in _LENGTHS:
        return ("square " if power == "2" else "cubic ") + words
    if power:
        return words + (" squared" if power == "2" else " cubed")
    return words


def _units(m: re.Match) -> str:
    u, gap = m.group("u"), m.group("gap")
    if (u in _GLUED_ONLY and gap) or (u in _SPACED_ONLY and not gap) or (u == "°" and m.group("u2")):
        return m.group(0)
    num = m.group("num2") or m.group("num")
    plural = gap != "-" and (num.replace(",", "") != "1" or bool(m.group("scale")))
    words = _quantity(m.group("num"))
    if m.group("num2"):
        words += " to " + _quantity(m.group("num2"))
    if m.group("scale"):
        words += m.group("scale")
    unit = _unit_words(u, m.group("p"), plural, m.group("sq"))
    if m.group("u2"):
        unit += " per " + _unit_words(m.group("u2"), m.group("p2"), False, m.group("sq2"))
    minus = "minus " if m.group("neg") else ""
    return f"{minus}{words}{'-' if gap == '-' else ' '}{unit}"


def _dimension(m: re.Match) -> str:
    parts = [_quantity(m.group(k)) for k in "abc" if m.group(k)]
    words = " by ".join(parts)
    if m.group("u"):
        words += " " + _unit_words(m.group("u"), m.group("p"), True)
    return words


def _fraction(m: re.Match) -> str:
    n, d = int(m.group("n")), int(m.group("d"))
    plural = bool(m.group("whole")) or n > d
    return f"{fraction_to_words(n, d, m.group('whole'))} {_unit_words(m.group('u'), None, plural)}"


def expand_units(text: str) -> str:
    """A number followed by a unit of measure -> words (see the module docstring)."""
    text = re.sub(r"(?<=\d)\s?°\s?([CFK])\b", r"°\1", text)  # "25 ° C" -> "25°C"
    text = _DIMENSION_RE.sub(_dimension, text)
    text = _TIMES_RE.sub(lambda m: _quantity(m.group("a")) + " times", text)
    text = _FRACTION_UNIT_RE.sub(_fraction, text)
    text = _UNIT_RE.sub(_units, text)
    text = re.sub(rf"(?<![\w.])(?P<num>{NUMBER})\s?/\s?(?P<u>{_UNIT})(?P<p>{_POW})?(?![\w/])",
                  lambda m: f"{_quantity(m.group('num'))} per {_unit_words(m.group('u'), m.group('p'), False)}", text)
    text = _PER_NOUN_RE.sub(r" per \1", text)
    return _PER_WORD_RE.sub(
        lambda m: m.group(0) if m.group("u") in _GLUED_ONLY else " per " + _unit_words(m.group("u"), m.group("p"), False), text
    )
