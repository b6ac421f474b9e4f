"""tacolib.text on real-world English: one table per family of written forms.

Every case was written for this course from the rules in the modules' docstrings
(what a careful US reader says), not copied from another project's tests. The
conventions tested at the end are the ``TextConfig`` switches.
"""

from __future__ import annotations

import warnings

import pytest

from tacolib import get_config
from tacolib.config import TextConfig
from tacolib.text import TextWarning, normalize, normalize_steps
from tacolib.text import nemo as nemo_backend

FAMILIES: dict[str, list[tuple[str, str]]] = {
    "cleanup": [  # control characters, Unicode, ellipses, math signs
        ("\x1b[31mred\x1b[0m alert", "red alert"),
        ("\x1b]0;my title\x07hello", "hello"),
        ("bell\x07 rings", "bell rings"),
        ("null\x00byte", "nullbyte"),
        ("tab\there", "tab here"),
        ("form\x0cfeed", "form feed"),
        ("wait...4", "wait... four"),
        ("wait…what", "wait... what"),
        ("so.. then", "so... then"),
        ("“Quoted” — dash", "quoted, dash"),
        ("x ± 2", "x plus or minus two"),
        ("6 ÷ 2", "six divided by two"),
        ("2*3", "two times three"),
        ("~5 km", "about five kilometers"),
        ("and/or", "and or"),
        ("Zürich’s café", "zurich's cafe"),
    ],
    "abbreviations": [
        ("St. Paul", "saint paul"),
        ("the church of St. Mary", "the church of saint mary"),
        ("St. Louis is big.", "saint louis is big."),
        ("on Elm St. near here", "on elm street near here"),
        ("I live on Elm St. It is quiet.", "i live on elm street. it is quiet."),
        ("Meet me at 12 Oak St.", "meet me at twelve oak street."),
        ("Main St, Springfield", "main street, springfield"),
        ("Dr. Jones arrived.", "doctor jones arrived."),
        ("She lives on Mulholland Dr.", "she lives on mulholland drive."),
        ("Smith & Co. The end.", "smith and company. the end."),
        ("apples, pears, etc. and plums", "apples, pears, et cetera and plums"),
        ("He moved to the U.S. last year.", "he moved to the u s last year."),
        ("She has a Ph.D. in music", "she has a p h d in music"),
        ("See p. 37 and pp. 40-45.", "see page thirty-seven and pages forty to forty-five."),
        ("Fig. 3 shows it", "figure three shows it"),
        ("He is 6 ft. tall", "he is six feet tall"),
        ("Ft. Worth, Texas", "fort worth, texas"),
        ("Mt. Everest", "mount everest"),
        ("e.g. apples; i.e. fruit", "for example apples; that is fruit"),
        ("Capt. Hook vs. Lt. Pan", "captain hook versus lieutenant pan"),
    ],
    "dates": [
        ("2019-04-07", "april seventh twenty nineteen"),
        ("on 2021-12-25.", "on december twenty-fifth twenty twenty-one."),
        ("7/4/2019", "july fourth twenty nineteen"),
        ("25/12/2019", "the twenty-fifth of december twenty nineteen"),
        ("07.04.2019", "july fourth twenty nineteen"),
        ("3-15-2020", "march fifteenth twenty twenty"),
        ("11/17/05", "november seventeenth oh five"),
        ("on 7/4 we", "on july fourth we"),
        ("Oct 3", "october third"),
        ("Oct. 3, 1999", "october third, nineteen ninety-nine"),
        ("Sept 11 2001", "september eleventh two thousand one"),
        ("Jan-15-2020", "january fifteenth twenty twenty"),
        ("3 October 2019", "the third of october twenty nineteen"),
        ("the 4th of July", "the fourth of july"),
        ("on 21 March, 1990, we", "on the twenty-first of march, nineteen ninety, we"),
        ("in June 1944", "in june nineteen forty-four"),
        ("by 1/1/2000", "by january first two thousand"),
        ("2020/02/29", "february twenty-ninth twenty twenty"),
    ],
    "decades": [
        ("the 1970s", "the nineteen seventies"),
        ("the 1990s", "the nineteen nineties"),
        ("in the '90s", "in the nineties"),
        ("the 1900s", "the nineteen hundreds"),
        ("the 2000s", "the two thousands"),
        ("the 2010s", "the twenty tens"),
        ("the 1800's", "the eighteen hundreds"),
        ("the 60s", "the sixties"),
        ("in her 20s", "in her twenties"),
        ("the 1960s-80s", "the nineteen sixties to eighties"),
        ("the 1920s–1930s", "the nineteen twenties to nineteen thirties"),
        ("mid-1980s", "mid-nineteen eighties"),
        ("early '70s rock", "early seventies rock"),
        ("the 1600s", "the sixteen hundreds"),
        ("two 747s", "two seven hundred forty-sevens"),
    ],
    "times": [
        ("at 5:30 p.m.", "at five thirty p m."),
        ("at 9:05 a.m. sharp", "at nine oh five a m sharp"),
        ("9:05:30", "nine hours five minutes and thirty seconds"),
        ("1:00:01", "one hour and one second"),
        ("00:15", "twelve fifteen a m"),
        ("00:00", "twelve a m"),
        ("3.30 pm", "three thirty p m"),
        ("3.30pm today", "three thirty p m today"),
        ("11AM", "eleven a m"),
        ("2pm-5pm", "two p m to five p m"),
        ("9-11 am", "nine to eleven a m"),
        ("10:00 - 11:30", "ten o'clock to eleven thirty"),
        ("at 1:59 p.m. EST", "at one fifty-nine p m e s t"),
        ("17:45", "seventeen forty-five"),
        ("23:00", "twenty-three o'clock"),
        ("a 3:1 ratio", "a three to one ratio"),
        ("16:9 screens", "sixteen to nine screens"),
        ("a 1:50,000 map", "a one to fifty thousand map"),
    ],
    "money": [
        ("$3.50", "three dollars, fifty cents"),
        ("$1", "one dollar"),
        ("$0.99", "ninety-nine cents"),
        ("$-5", "minus five dollars"),
        ("-$5", "minus five dollars"),
        ("$20-$30", "twenty dollars to thirty dollars"),
        ("$20-30", "twenty to thirty dollars"),
        ("$5-10 million", "five to ten million dollars"),
        ("US$4.2 billion", "four point two billion u s dollars"),
        ("€3m", "three million euros"),
        ("$10k", "ten thousand dollars"),
        ("£1.20", "one pound, twenty pence"),
        ("¥500", "five hundred yen"),
        ("₩1,000", "one thousand won"),
        ("₹50", "fifty rupees"),
        ("CHF 20", "twenty swiss francs"),
        ("50 USD", "fifty u s dollars"),
        ("20 EUR", "twenty euros"),
        ("15 €", "fifteen euros"),
        ("50¢", "fifty cents"),
        ("$2.000", "two dollars"),
        ("$1,234.567", "one thousand two hundred thirty-four point five six seven dollars"),
        ("$5/kg", "five dollars per kilogram"),
        ("a $ sign", "a dollar sign"),
        ("$5.99/month", "five dollars, ninety-nine cents per month"),
    ],
    "units": [
        ("5km", "five kilometers"),
        ("1 km", "one kilometer"),
        ("a 5-km run", "a five-kilometer run"),
        ("3.5 kg", "three point five kilograms"),
        ("20mph", "twenty miles per hour"),
        ("4GB", "four gigabytes"),
        ("100 km/h", "one hundred kilometers per hour"),
        ("9.8 m/s^2", "nine point eight meters per second squared"),
        ("10 cm²", "ten square centimeters"),
        ("2 m³", "two cubic meters"),
        ("25°C", "twenty-five degrees celsius"),
        ("-5 °F", "minus five degrees fahrenheit"),
        ("1°C", "one degree celsius"),
        ("3 μm", "three micrometers"),
        ("3 µm", "three micrometers"),
        ("5 mm", "five millimeters"),
        ("2-5 lb", "two to five pounds"),
        ("3x4", "three by four"),
        ("1920x1080", "one thousand nine hundred twenty by one thousand eighty"),
        ("2x faster", "two times faster"),
        ("12/kg", "twelve per kilogram"),
        ("1,750 km", "one thousand seven hundred fifty kilometers"),
        ("5in", "five inches"),
        ("5 in the box", "five in the box"),
        ("2.4 GHz", "two point four gigahertz"),
        ("31480 sq ft", "thirty-one thousand four hundred eighty square feet"),
        ("500 mg/day", "five hundred milligrams per day"),
        ("He is 6'2\" tall", "he is six feet two inches tall"),
        ("2 lbs. of flour", "two pounds of flour"),
    ],
    "fractions": [
        ("3/8", "three eighths"),
        ("1/2", "one half"),
        ("1/4", "one quarter"),
        ("3/4", "three quarters"),
        ("2/3", "two thirds"),
        ("5/16", "five sixteenths"),
        ("7/100", "seven hundredths"),
        ("2 1/2", "two and a half"),
        ("2 3/4", "two and three quarters"),
        ("1 1/3", "one and a third"),
        ("½", "one half"),
        ("2½ miles", "two and a half miles"),
        ("¾ cup", "three quarters cup"),
        ("1/1000", "one over one thousand"),
        ("22/7", "twenty-two sevenths"),
        ("24/7", "twenty-four seven"),
        ("-1/2", "minus one half"),
        ("1/4th", "one quarter"),
        ("31/32", "thirty-one thirty-seconds"),
    ],
    "roman": [
        ("CHAPTER IX.", "chapter nine."),
        ("Chapter I", "chapter one"),
        ("Book XII", "book twelve"),
        ("Act III, Scene 2", "act three, scene two"),
        ("World War II ended", "world war two ended"),
        ("after World War I.", "after world war one."),
        ("type II diabetes", "type two diabetes"),
        ("Part IV: the end", "part four: the end"),
        ("Henry VIII had six wives", "henry the eighth had six wives"),
        ("Elizabeth I of England", "elizabeth the first of england"),
        ("Pope John Paul II", "pope john paul the second"),
        ("Louis XIV's reign", "louis the fourteenth's reign"),
        ("George III", "george the third"),
        ("in part I think so", "in part i think so"),
        ("Charles I was tired", "charles i was tired"),
        ("I am Paul I guess", "i am paul i guess"),
    ],
    "numbers": [  # signs, decimals, scientific notation, digit strings, phone numbers
        ("-2.5", "minus two point five"),
        ("−3", "minus three"),
        ("between -5 and -10", "between minus five and minus ten"),
        ("1e6", "one times ten to the power of six"),
        ("6.02e23", "six point zero two times ten to the power of twenty-three"),
        ("1.5E-3", "one point five times ten to the power of minus three"),
        ("10^6", "ten to the power of six"),
        ("x^2", "x squared"),
        ("007", "zero zero seven"),
        ("0042", "zero zero four two"),
        ("call 1234567890", "call one two three four five six seven eight nine zero"),
        ("1,234,567,890", "one billion two hundred thirty-four million five hundred sixty-seven thousand eight hundred ninety"),
        ("(555) 123-4567", "five five five, one two three, four five six seven"),
        ("+1 555-123-4567", "plus one, five five five, one two three, four five six seven"),
        ("192.168.0.1", "one hundred ninety-two dot one hundred sixty-eight dot zero dot one"),
        ("version 3.11.2", "version three point eleven point two"),
        ("978-3-16-148410-0", "nine seven eight, three, one six, one four eight four one zero, zero"),
        ("1,750 people", "one thousand seven hundred fifty people"),
        ("a .5 chance", "a point five chance"),
        ("the 1,000th visitor", "the one thousandth visitor"),
        ("A4 paper", "a four paper"),
        ("5abc", "five abc"),
    ],
}


@pytest.mark.parametrize(
    "family,raw,expected",
    [(f, r, e) for f, cases in FAMILIES.items() for r, e in cases],
    ids=[f"{f}:{r[:28]}" for f, cases in FAMILIES.items() for r, _ in cases],
)
def test_family_table(family, raw, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TextWarning)  # control characters are named; tested below
        assert normalize(raw) == expected


def test_every_family_has_at_least_15_cases():
    small = {f: len(c) for f, c in FAMILIES.items() if len(c) < 15}
    assert not small, small


def test_each_family_is_read_by_its_own_step():
    """The stage that first changes a case is the family's step (the pipeline's lesson)."""
    owner = {"dates": "expand_dates", "decades": "expand_dates", "times": "expand_time", "money": "expand_currency",
             "units": "expand_units", "fractions": "expand_numbers"}
    for family, step in owner.items():
        for raw, _ in FAMILIES[family]:
            if raw == "5 in the box":  # the point of that case: not a unit
                continue
            if any(ch in raw for ch in "½¾µ²³–") or not any(ch.isdigit() for ch in raw):
                continue  # transliterate touches these first; a lone sign is named at the end
            stages = normalize_steps(raw)
            changed = [name for (name, s), (_, prev) in zip(stages[1:], stages) if s != prev]
            assert step in changed, (raw, changed)


def test_control_sequences_are_named_in_the_warning():
    with pytest.warns(TextWarning, match=r"control character.*\\x1b\[31m"):
        assert normalize("\x1b[31mred") == "red"


def test_a_full_stop_after_an_abbreviation_survives():
    assert normalize("We met on Elm St. Then we left.") == "we met on elm street. then we left."
    assert normalize("It rained at 5 p.m. Then it stopped.") == "it rained at five p m. then it stopped."
    assert normalize("Mr. Smith left.") == "mister smith left."  # a title never ends a sentence


def test_a_bare_four_digit_number_is_a_year_but_commas_make_a_quantity():
    assert normalize("In 1750 they left") == "in seventeen fifty they left"
    assert normalize("1,750 left") == "one thousand seven hundred fifty left"


# ---- conventions (TextConfig) ---------------------------------------------------------------


def test_date_order_switch():
    dmy = TextConfig(date_order="dmy")
    assert normalize("7/4/2019", dmy) == "the seventh of april twenty nineteen"
    assert normalize("2019-04-07", dmy) == "the seventh of april twenty nineteen"
    assert normalize("12/25/2019", dmy) == "december twenty-fifth twenty nineteen"  # only one order is a date
    assert normalize("7/4/2019") == "july fourth twenty nineteen"


def test_and_in_numbers_switch():
    gb = TextConfig(number_and=True)
    assert normalize("105 men", gb) == "one hundred and five men"
    assert normalize("$1,250", gb) == "one thousand two hundred and fifty dollars"
    assert normalize("In 1465", gb) == "in fourteen sixty-five"  # years are read in pairs either way
    assert normalize("105 men") == "one hundred five men"


def test_hyphen_switch():
    plain = TextConfig(number_hyphens=False)
    assert normalize("25 men, the 22nd", plain) == "twenty five men, the twenty second"
    assert normalize("25 men") == "twenty-five men"


def test_conventions_come_from_a_whole_config_too():
    cfg = get_config("tiny").override(["text.date_order=dmy", "text.number_and=true"])
    assert normalize("1/2/2003 and 101", cfg) == "the first of february two thousand three and one hundred and one"
    assert normalize("1/2/2003") == "january second two thousand three"  # nothing leaks out of a call


@pytest.mark.parametrize("bad", [{"date_order": "ymd"}, {"normalizer": "espeak"}])
def test_unknown_conventions_are_refused(bad):
    with pytest.raises(ValueError, match=list(bad)[0]):
        normalize("hello", TextConfig(**bad))


# ---- the optional NeMo backend --------------------------------------------------------------


def test_nemo_missing_gives_the_install_command(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "nemo_text_processing.text_normalization.normalize", None)
    nemo_backend._normalizer.cache_clear()
    try:
        with pytest.raises(ImportError, match=r'pip install -e "\.\[nemo\]"'):
            normalize("5 km", TextConfig(normalizer="nemo"))
    finally:
        nemo_backend._normalizer.cache_clear()


@pytest.mark.skipif(not nemo_backend.available(), reason='nemo_text_processing is not installed (pip install -e ".[nemo]")')
@pytest.mark.slow
def test_nemo_backend_keeps_the_guarantees():
    from tacolib.symbols import EOS, PAD, SYMBOLS

    nemo = TextConfig(normalizer="nemo")
    for raw, _ in FAMILIES["money"][:5] + FAMILIES["units"][:5] + FAMILIES["dates"][:5]:
        out = normalize(raw, nemo)
        assert set(out) <= set(SYMBOLS) - {PAD, EOS} and not any(c.isdigit() for c in out), (raw, out)
    assert normalize("Dr. Smith paid $3.50", nemo) == "doctor smith paid three dollars fifty cents"
