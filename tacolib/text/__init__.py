"""Text front end: raw English text -> normalized text -> token ids.

A TTS model reads characters, so every character it sees must be one it can learn to
pronounce. Written English is full of things that are *not* spelled the way they are
said: ``"Dr. Smith paid $3.50 at 5:30 p.m. on May 22nd, 1465"``. Normalization rewrites
such text into the spoken words ("doctor smith paid three dollars, fifty cents at
five thirty p m on may twenty-second, fourteen sixty-five"), then keeps only the
symbols of :mod:`tacolib.symbols`.

The pipeline (:data:`PIPELINE`, in :mod:`~tacolib.text.pipeline`) is a list of small,
named ``str -> str`` steps; each family of written forms has its module:

=========================  ===========================================================
``cleanup``                control characters, Unicode -> ASCII, markup, the final filter
``abbreviations``          Mr., St. (saint or street), Oct 3, e.g., U.S.
``roman``                  Chapter IX, World War II, Henry VIII
``dates``                  2019-04-07, 7/4/2019, 3 October 2019, the 1970s
``times``                  5:30 p.m., 17:45, 9:05:30, 3:1
``money``                  $3.50, US$4.2 billion, €3m, $20-$30, CHF 20
``units``                  5km, 25°C, 100 km/h, 10 cm², 3x4
``numbers``                phone numbers, 1e6, 3/8, 21st, -2.5, years, 007, cardinals
``words``                  number words (inflect), fractions, plurals
``style``                  the conventions (date order, "and", hyphens) from ``TextConfig``
``tokens``                 :func:`text_to_ids`, :func:`ids_to_text`, :func:`tokenize`
``phonemes``               the phoneme front end (espeak-ng's phonemizer): :func:`phonemize`
``nemo``                   optional backend: NVIDIA's ``nemo_text_processing``
=========================  ===========================================================

``TextConfig.input`` picks what the model reads: characters (``"chars"``) or phonemes
(``"phonemes"``); :func:`text_to_ids` follows it.

Design rules
------------
* Characters that cannot be read are dropped with a :class:`TextWarning` naming them,
  never a crash. Known non-speech punctuation (quotes, brackets) is mapped silently.
* Text that is empty, or has no letter left after normalization, raises ``ValueError``.
* ``normalize(normalize(x)) == normalize(x)`` (idempotent), and the output holds only
  vocabulary symbols; both are property-tested with hypothesis.
* Where careful readers differ, the choice is a documented field of
  :class:`~tacolib.config.TextConfig` (:mod:`tacolib.text.style`).
"""

from tacolib.text.abbreviations import expand_abbreviations
from tacolib.text.cleanup import (
    TextWarning,
    collapse_whitespace,
    drop_unknown,
    filter_symbols,
    lowercase,
    map_markup,
    remove_control,
    symbols_to_words,
    tidy,
    transliterate,
)
from tacolib.text.dates import date_to_words, expand_dates, expand_decades
from tacolib.text.money import CURRENCIES, currency_to_words, expand_currency, remove_number_commas
from tacolib.text.numbers import (
    NUMBER_STEPS,
    expand_cardinal,
    expand_decimal,
    expand_digits,
    expand_dotted,
    expand_fraction,
    expand_numbers,
    expand_ordinal,
    expand_percent,
    expand_phone,
    expand_range,
    expand_scientific,
    expand_serial,
    expand_year,
)
from tacolib.text.pipeline import PIPELINE, normalize, normalize_steps
from tacolib.text.roman import expand_roman, roman_to_int
from tacolib.text.times import expand_time, time_to_words
from tacolib.text.phonemes import PhonemeCache, phoneme_string, phonemize
from tacolib.text.tokens import ids_to_text, input_kind, symbols_to_ids, text_to_ids, tokenize
from tacolib.text.units import UNITS, expand_units
from tacolib.text.words import (
    decimal_to_words,
    digits_to_words,
    fraction_to_words,
    number_to_words,
    ordinal_to_words,
    plural_words,
    year_to_words,
)

__all__ = [
    "TextWarning",
    "PIPELINE",
    "NUMBER_STEPS",
    "normalize",
    "normalize_steps",
    "text_to_ids",
    "ids_to_text",
    "tokenize",
    "input_kind",
    "symbols_to_ids",
    "phonemize",
    "phoneme_string",
    "PhonemeCache",
    # steps
    "remove_control",
    "transliterate",
    "drop_unknown",
    "collapse_whitespace",
    "map_markup",
    "expand_abbreviations",
    "expand_roman",
    "expand_dates",
    "expand_decades",
    "expand_time",
    "expand_currency",
    "expand_units",
    "expand_numbers",
    "expand_phone",
    "expand_dotted",
    "expand_scientific",
    "expand_percent",
    "expand_serial",
    "expand_range",
    "expand_fraction",
    "expand_ordinal",
    "expand_decimal",
    "expand_year",
    "expand_digits",
    "expand_cardinal",
    "remove_number_commas",
    "lowercase",
    "symbols_to_words",
    "filter_symbols",
    "tidy",
    # words
    "number_to_words",
    "ordinal_to_words",
    "year_to_words",
    "digits_to_words",
    "decimal_to_words",
    "fraction_to_words",
    "plural_words",
    "date_to_words",
    "time_to_words",
    "currency_to_words",
    "roman_to_int",
    "CURRENCIES",
    "UNITS",
]
