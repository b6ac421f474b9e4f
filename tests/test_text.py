"""tacolib.text: every normalization step, LJSpeech agreement, tokens, properties."""

from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tacolib import text as T
from tacolib.symbols import EOS, EOS_ID, PAD, PAD_ID, SYMBOL_TO_ID, SYMBOLS
from tacolib.text import TextWarning, ids_to_text, normalize, normalize_steps, text_to_ids

VOCAB = set(SYMBOLS) - {PAD, EOS}

# (raw, expected) -- written for this course
CASES = [
    # money
    ("It costs $3.50.", "it costs three dollars, fifty cents."),
    ("It costs $1.", "it costs one dollar."),
    ("Only $0.99 today", "only ninety-nine cents today"),
    ("A $0.01 coin", "a one cent coin"),
    ("We paid £100 for it", "we paid one hundred pounds for it"),
    ("£3.50 and a penny", "three pounds, fifty pence and a penny"),
    ("€2.05 each", "two euros, five cents each"),
    ("a $2.5 million deal", "a two point five million dollars deal"),
    ("$1,250 in cash", "one thousand two hundred fifty dollars in cash"),
    ("¥500 please", "five hundred yen please"),
    # ordinals
    ("the 1st time", "the first time"),
    ("the 2nd and 3rd", "the second and third"),
    ("on the 22nd of May", "on the twenty-second of may"),
    ("the 103rd floor", "the one hundred third floor"),
    ("his 11th and 12th", "his eleventh and twelfth"),
    # years
    ("In 1465, they printed.", "in fourteen sixty-five, they printed."),
    ("born in 2005", "born in two thousand five"),
    ("the year 2000", "the year two thousand"),
    ("back in 1900", "back in nineteen hundred"),
    ("since 1905", "since nineteen oh five"),
    ("by 2015", "by twenty fifteen"),
    # cardinals and big numbers
    ("42 cats", "forty-two cats"),
    ("0 left", "zero left"),
    ("12,000 people", "twelve thousand people"),
    ("1,234,567 stars", "one million two hundred thirty-four thousand five hundred sixty-seven stars"),
    ("about 1000 men", "about one thousand men"),
    ("a 10000 foot peak", "a ten thousand foot peak"),
    ("pages 10-20", "pages ten to twenty"),
    ("from 1990-1995", "from nineteen ninety to nineteen ninety-five"),
    ("$5-10 or 5-10%", "five to ten dollars or five to ten percent"),
    ("it was -5 outside", "it was minus five outside"),
    # decimals, percentages
    ("pi is 3.14", "pi is three point one four"),
    ("a .5 chance", "a point five chance"),
    ("up 75%", "up seventy-five percent"),
    ("rates of 2.5 %", "rates of two point five percent"),
    # times
    ("at 5:30 p.m.", "at five thirty p m."),
    ("at 9:05 a.m. sharp", "at nine oh five a m sharp"),
    ("at 7 pm today", "at seven p m today"),
    ("at 12:00 exactly", "at twelve o'clock exactly"),
    ("by 17:45 or so", "by seventeen forty-five or so"),
    # abbreviations
    ("Mr. and Mrs. Smith", "mister and missus smith"),
    ("Dr. Jones will see you", "doctor jones will see you"),
    ("St. Paul's church", "saint paul's church"),
    ("on Elm St. near here", "on elm street near here"),
    ("Smith & Co.", "smith and company."),
    ("apples, pears, etc.", "apples, pears, et cetera."),
    ("Room No. 5", "room number five"),
    ("fruit, e.g. apples", "fruit, for example apples"),
    ("Capt. Hook vs. Lt. Pan", "captain hook versus lieutenant pan"),
    # transliteration, punctuation, whitespace
    ("Café naïve", "cafe naive"),
    ("“Hello,” she said — quietly.", "hello, she said, quietly."),
    ("Don’t   stop\n\tnow!", "don't stop now!"),
    ("[aside] {note}", "(aside) (note)"),
    ("Tom & Jerry", "tom and jerry"),
    ("Is it true?!", "is it true?!"),
    ("A #1 hit", "a number one hit"),
]


@pytest.mark.parametrize("raw,expected", CASES, ids=[c[0][:30] for c in CASES])
def test_normalization_table(raw, expected):
    assert normalize(raw) == expected


def test_table_is_large_enough():
    assert len(CASES) >= 40


def test_ljspeech_columns_agree(ljspeech_sample):
    lines = (ljspeech_sample / "metadata.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 32
    years = 0
    for line in lines:
        uid, raw, norm = line.split("|")
        assert normalize(raw) == normalize(norm), uid
        years += any(y in raw for y in ("1455", "1462", "1465"))
    assert years == 3


# ---- the steps, one at a time ----------------------------------------------------------


def test_steps_individually():
    assert T.transliterate("façade – ①") == "facade - 1"
    assert T.transliterate("£5 €3") == "£5 €3"
    assert T.collapse_whitespace("  a \t\n b  ") == "a b"
    assert T.lowercase("ABC") == "abc"
    assert T.remove_number_commas("1,000 and 12,345,678 but 1,23") == "1000 and 12345678 but 1,23"
    assert T.expand_currency("$4.20") == "four dollars, twenty cents"
    assert T.expand_percent("5%") == "5 percent"
    assert T.expand_time("5:30 p.m.") == "five thirty p m."
    assert T.expand_ordinal("21st") == "twenty-first"
    assert T.expand_decimal("0.25") == "zero point two five"
    assert T.expand_year("1776 and 999 and 3000") == "seventeen seventy-six and 999 and 3000"
    assert T.expand_cardinal("999 and 3000") == "nine hundred ninety-nine and three thousand"
    assert T.expand_range("1990-1995 but -5") == "1990 to 1995 but -5"
    assert T.expand_abbreviations("Mr. Smith") == "mister Smith"
    assert T.map_markup('"a" [b]') == " a  (b)"
    assert T.symbols_to_words("$ %") == " dollar   percent "
    assert T.tidy(" a , b ( c ) . ") == "a, b (c)."
    assert T.year_to_words(1465) == "fourteen sixty-five" and T.year_to_words(2009) == "two thousand nine"
    assert T.currency_to_words("£", "1") == "one pound"


def test_normalize_steps_shows_every_stage():
    stages = normalize_steps("Dr. Who paid $5.")
    names = [n for n, _ in stages]
    assert names == ["input"] + [n for n, _ in T.PIPELINE]
    d = dict(stages)
    assert d["expand_abbreviations"] == "doctor Who paid $5."
    assert d["expand_numbers"] == "doctor Who paid five dollars."
    assert stages[-1][1] == normalize("Dr. Who paid $5.")


def test_huge_numbers_are_read_digit_by_digit():
    out = normalize("x 12345678901234567890 y")
    assert out.startswith("x one two three four") and out.endswith("nine zero y")


# ---- unknown characters and empty text ------------------------------------------------------


def test_unknown_characters_dropped_with_named_warning():
    with pytest.warns(TextWarning, match=r"'\^'.*'\|'|'\|'.*'\^'"):
        assert normalize("a^b|c") == "abc"
    with pytest.warns(TextWarning, match="😀"):
        assert normalize("hi 😀") == "hi"


def test_known_punctuation_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        normalize('He said: "yes" (twice) -- [really] {ok}; *bold* _it_ ~x~ a/b')


@pytest.mark.parametrize("bad", ["", "   ", "\n\t", "...", "?!", "😀", "---"])
def test_empty_or_unspeakable_text_raises(bad):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TextWarning)
        with pytest.raises(ValueError):
            normalize(bad)


def test_non_string_raises_type_error():
    with pytest.raises(TypeError, match="str"):
        normalize(42)


# ---- tokens ------------------------------------------------------------------------------------


def test_symbol_table_reserves_pad_and_eos():
    assert SYMBOLS[PAD_ID] == PAD and SYMBOLS[EOS_ID] == EOS and PAD_ID == 0 and EOS_ID == 1
    assert len(set(SYMBOLS)) == len(SYMBOLS) and SYMBOL_TO_ID[" "] >= 2


def test_text_to_ids_round_trip():
    ids = text_to_ids("Dr. Smith, 2 cats!")
    assert ids.dtype == torch.long and ids.dim() == 1 and ids[-1] == EOS_ID
    assert PAD_ID not in ids.tolist() and (ids[:-1] >= 2).all()
    assert ids_to_text(ids) == "doctor smith, two cats!"
    assert len(text_to_ids("hi", add_eos=False)) == 2
    assert ids_to_text([SYMBOL_TO_ID["h"], SYMBOL_TO_ID["i"], EOS_ID, PAD_ID, PAD_ID]) == "hi"
    assert ids_to_text([SYMBOL_TO_ID["h"], EOS_ID, PAD_ID], strip=False) == "h~_"
    with pytest.raises(ValueError, match="outside the vocabulary"):
        ids_to_text([len(SYMBOLS)])
    with pytest.raises(ValueError):
        text_to_ids("")


def test_text_to_ids_of_normalized_text():
    assert ids_to_text(text_to_ids("hello, world.", normalized=True)) == "hello, world."
    with pytest.warns(TextWarning, match="'X'"):
        assert ids_to_text(text_to_ids("aXb", normalized=True)) == "ab"


# ---- properties -------------------------------------------------------------------------------

_texty = st.lists(
    st.one_of(
        st.characters(),  # any code point
        st.sampled_from(
            list("0123456789$£€¥₩%.,:;-'\" ()[]&#/^*xe½²°μ−")
            + ["Mr.", "St.", "Dr.", "p.m.", "a.m.", "pm", "1st", "etc.", " ", "A", "km", "kg", "°C", "s", "'s", "in"]
            + ["Oct", "May", "the ", " of ", "USD", "CHF", "US$", "M", "bn", "k", "...", "\x1b[31m", "U.S.", "No."]
            + ["2019-04-07", "7/4/2019", "12:30", "1970s", "'90s", "GB", "mph", "e6", "EST", "555-123-4567"]
        ),
    ),
    max_size=40,
).map("".join)


def _normalize_or_none(s):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TextWarning)
        try:
            return normalize(s)
        except ValueError as e:  # only the documented "nothing to say" errors are allowed
            assert "is empty" in str(e) or "nothing speakable" in str(e) or "no symbols left" in str(e), repr(e)
            return None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_texty)
def test_never_crashes_and_emits_only_vocabulary(s):
    out = _normalize_or_none(s)
    if out is not None:
        assert set(out) <= VOCAB
        assert out == out.strip() and "  " not in out and any(c.isalpha() for c in out)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_texty)
def test_idempotent(s):
    out = _normalize_or_none(s)
    if out is not None:
        assert normalize(out) == out


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**15))
def test_any_number_becomes_words(n):
    out = normalize(f"{n} and {n:,}")
    assert set(out) <= set("abcdefghijklmnopqrstuvwxyz -") and "and" in out


# ---- the interactive box (notebook 02), headless ------------------------------------------------


def test_explain_describes_every_stage():
    from tacolib.widgets.text import explain, explain_html

    e = explain("Dr. Who paid $5 😀")
    assert [s[0] for s in e["stages"]] == ["input"] + [n for n, _ in T.PIPELINE]
    changed = {name for name, _, c in e["stages"] if c}
    assert {"expand_abbreviations", "expand_currency", "lowercase", "drop_unknown"} <= changed
    assert e["normalized"] == "doctor who paid five dollars"
    assert e["ids"] == text_to_ids(e["normalized"], normalized=True).tolist()
    assert any("😀" in w for w in e["warnings"]) and e["error"] is None
    bad = explain("?!")
    assert bad["normalized"] is None and "nothing speakable" in bad["error"]
    assert "ValueError" in explain_html("?!") and "<b>doctor" in explain_html("Dr. X")
    empty = explain("")
    assert empty["stages"] == [] and "empty" in empty["error"]


def test_normalizer_box_updates_on_typing():
    from tacolib.widgets.text import normalizer_box

    w = normalizer_box("hello")
    box, view = w.children
    assert "hello" in view.value
    box.value = "Mr. Brown, 3rd"
    assert "mister brown, third" in view.value
    box.value = ""
    assert "ValueError" in view.value
