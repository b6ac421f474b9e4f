"""TinySpeech's sentences: templates and word lists written for this course, and the
deterministic generator that draws a corpus's training and test sentences from them.

The raw text is full of what normalization must handle: numbers, money, times,
dates, ordinals, percentages, abbreviations and punctuation. Each sentence keeps its
raw and its normalized form (:func:`tacolib.text.normalize`); the builder
(:mod:`tacolib.corpus.tinyspeech`) has espeak-ng speak the normalized one. The test
split holds sentences from the same templates whose every word also occurs in
training: it measures generalization to new combinations, not to unknown words.

>>> from tacolib.corpus.prompts import generate_prompts
>>> generate_prompts("fast")[0].raw        # doctest: +SKIP
'Please bring the spoons to Main St. before 1:20 p.m.'
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Callable

from tacolib.text import normalize

__all__ = ["SIZES", "Prompt", "Words", "ALL_WORDS", "TEMPLATES", "generate_prompts"]

SIZES: dict[str, tuple[int, int]] = {"fast": (40, 8), "full": (2000, 100)}  # (train, test)
MIN_WORDS, MAX_WORDS = 4, 22  # normalized words; at 165 wpm about 1.2-7.5 s
MIN_CHARS, MAX_CHARS = 24, 140  # normalized characters; under 24 is often shorter than 1 s

# ---- word lists (written for this course) -----------------------------------------

FIRST = ("Anna Ben Clara David Emma Felix Grace Henry Iris Jack Kate Leo Maya Noah Olive "
         "Paul Rosa Sam Tina Victor Wendy Alice Oscar Ruth Hugo Nina Peter Lucy Simon Julia").split()
SURNAME = "Brown Clark Fisher Green Hall Hill Lane Mills Moore Parker Reed Stone Turner Walker Wood Baker Carter Dixon Ellis Ford".split()
TITLE = ["Mr.", "Mrs.", "Dr.", "Ms.", "Prof.", "Capt."]
TOWN = ("Ashford Bramley Cloverdale Dunmore Elmwood Fairhaven Glenrock Hollowell Kingsbridge "
        "Lakeside Millbrook Northfield Oakridge Pinecrest Redcliff Riverton Stonehill Westbury").split()
SAINT = ["St. Mary's", "St. George's", "St. Clair", "St. Agnes", "St. Luke's"]
STREET = ["Elm St.", "Oak St.", "Mill Rd.", "Park Ave.", "Hill St.", "Lake Rd.", "Main St.", "Bay Ave."]
THINGS = [
    ("apple", "apples"), ("basket", "baskets"), ("blanket", "blankets"), ("book", "books"),
    ("bottle", "bottles"), ("candle", "candles"), ("chair", "chairs"), ("clock", "clocks"),
    ("coat", "coats"), ("cup", "cups"), ("drum", "drums"), ("hat", "hats"), ("jar", "jars"),
    ("kettle", "kettles"), ("ladder", "ladders"), ("lamp", "lamps"), ("letter", "letters"),
    ("map", "maps"), ("mirror", "mirrors"), ("pencil", "pencils"), ("plate", "plates"),
    ("ribbon", "ribbons"), ("rope", "ropes"), ("shoe", "shoes"), ("spoon", "spoons"),
    ("stamp", "stamps"), ("ticket", "tickets"), ("umbrella", "umbrellas"), ("vase", "vases"),
    ("wagon", "wagons"), ("whistle", "whistles"), ("box", "boxes"), ("brush", "brushes"),
    ("dish", "dishes"), ("glass", "glasses"), ("knife", "knives"),
]
ANIMALS = [
    ("cat", "cats"), ("dog", "dogs"), ("horse", "horses"), ("goat", "goats"), ("fox", "foxes"),
    ("owl", "owls"), ("rabbit", "rabbits"), ("duck", "ducks"), ("pony", "ponies"), ("mouse", "mice"),
    ("sheep", "sheep"), ("hen", "hens"), ("crow", "crows"), ("frog", "frogs"), ("turtle", "turtles"),
    ("bear", "bears"),
]
ADJ = ("red blue green small large old new quiet bright heavy tiny golden wooden silver dusty "
       "shiny sleepy clever brave gentle noisy careful lucky curious").split()
VERB = "bought found painted sold carried dropped cleaned borrowed fixed wrapped ordered counted packed mended lost".split()
PLACE = "market station library harbor bakery museum garden school bridge farm hall bank theater".split()
MONTH = "January February March April May June July August September October November December".split()
DAY = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
ROLE = "neighbor teacher cousin landlord pilot gardener tailor mayor".split()
UNIT = "kilograms meters miles liters hours minutes degrees".split()
SMALL = "two three four five six seven eight nine ten".split()



@dataclass(frozen=True)
class Words:
    """The word lists a template draws from (all of them, or a subset for the test split)."""

    FIRST: tuple
    SURNAME: tuple
    TITLE: tuple
    TOWN: tuple
    SAINT: tuple
    STREET: tuple
    THINGS: tuple
    ANIMALS: tuple
    ADJ: tuple
    VERB: tuple
    PLACE: tuple
    MONTH: tuple
    DAY: tuple
    ROLE: tuple
    UNIT: tuple
    SMALL: tuple

    def restricted(self, known: set[str]) -> "Words":
        """Keep the entries whose every word is in ``known`` (lists that would be empty stay whole)."""

        def ok(entry) -> bool:
            text = " ".join(entry) if isinstance(entry, tuple) else entry
            return _alpha_words(text) <= known

        kept = {}
        for name in self.__dataclass_fields__:
            if name == "SMALL":  # number words, indexed by value: always whole
                kept[name] = self.SMALL
                continue
            items = tuple(e for e in getattr(self, name) if ok(e))
            kept[name] = items or getattr(self, name)
        return Words(**kept)


ALL_WORDS = Words(**{name: tuple(globals()[name]) for name in Words.__dataclass_fields__})


# ---- number makers: each returns the written (raw) form ---------------------------


def _count(r: random.Random, w: Words) -> str:
    n = r.randint(2, 12)
    return str(n) if r.random() < 0.7 else w.SMALL[min(n, 10) - 2]


def _price(r: random.Random) -> str:
    kind = r.random()
    if kind < 0.5:
        return f"${r.randint(1, 49)}.{r.choice(['00', '05', '10', '25', '50', '75', '99'])}"
    if kind < 0.7:
        return f"${r.randint(2, 900)}"
    if kind < 0.9:
        return f"£{r.choice([5, 10, 20, 25, 50, 100, 200, 250, 500])}"
    return f"€{r.randint(2, 60)}"


def _year(r: random.Random) -> str:
    return str(r.choice([r.randint(1600, 1999), r.randint(2000, 2025)]))


def _big(r: random.Random) -> str:
    return f"{r.choice([1, 2, 3, 5, 8, 12, 15, 20, 40, 75])},{r.choice([0, 200, 500, 750]):03d}"


def _pct(r: random.Random) -> str:
    return f"{r.choice([5, 10, 12, 15, 20, 25, 30, 40, 50, 60, 75, 80, 90])}%"


def _time(r: random.Random) -> str:
    h = r.randint(1, 12)
    m = r.choice([0, 5, 10, 15, 20, 30, 45, 50])
    if r.random() < 0.15:
        return f"{h + 12}:{m:02d}"
    ampm = r.choice(["a.m.", "p.m."])
    return f"{h} {ampm}" if m == 0 and r.random() < 0.5 else f"{h}:{m:02d} {ampm}"


def _ordinal(r: random.Random) -> str:
    n = r.randint(1, 31)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _decimal(r: random.Random) -> str:
    return f"{r.randint(0, 9)}.{r.randint(1, 9)}"


# ---- templates ----------------------------------------------------------------------


def _person(r: random.Random, w: Words) -> str:
    x = r.random()
    if x < 0.45:
        return r.choice(w.FIRST)
    if x < 0.85:
        return f"{r.choice(w.TITLE)} {r.choice(w.SURNAME)}"
    return f"{r.choice(w.FIRST)} {r.choice(w.SURNAME)}"


def _thing(r: random.Random, w: Words, plural: bool = False) -> str:
    s, p = r.choice(w.THINGS)
    return p if plural else s


def _animal(r: random.Random, w: Words, plural: bool = False) -> str:
    s, p = r.choice(w.ANIMALS)
    return p if plural else s


def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


TEMPLATES: list[Callable[[random.Random, Words], str]] = [
    lambda r, w: f"{_person(r, w)} {r.choice(w.VERB)} {_count(r, w)} {r.choice(w.ADJ)} {_thing(r, w, True)} at the {r.choice(w.PLACE)}.",
    lambda r, w: f"{_person(r, w)} paid {_price(r)} for {_a(r.choice(w.ADJ))} {_thing(r, w)}.",
    lambda r, w: f"The {r.choice(w.ADJ)} {_animal(r, w)} slept until {_time(r)}.",
    lambda r, w: f"Meet me at {r.randint(1, 250)} {r.choice(w.STREET)}",
    lambda r, w: f"On the {_ordinal(r)} of {r.choice(w.MONTH)}, {_person(r, w)} {r.choice(w.VERB)} {_a(r.choice(w.ADJ))} {_thing(r, w)}.",
    lambda r, w: f"In {_year(r)}, {r.choice(w.TOWN)} had {_big(r)} people.",
    lambda r, w: f"Prices at the {r.choice(w.PLACE)} rose by {_pct(r)} in {r.choice(w.MONTH)}.",
    lambda r, w: f"{_person(r, w)} and {_person(r, w)} arrived at {_time(r)}.",
    lambda r, w: f"Is the {_thing(r, w)} really {r.choice(w.ADJ)}?",
    lambda r, w: f"What {_a(r.choice(w.ADJ))} {_animal(r, w)}, and what {_a(r.choice(w.ADJ))} {_thing(r, w)}!",
    lambda r, w: f"Take the {_ordinal(r)} train to {r.choice(w.TOWN)}; it leaves at {_time(r)}.",
    lambda r, w: f"The {r.choice(w.PLACE)} sold {_big(r)} {_thing(r, w, True)} in {_year(r)}.",
    lambda r, w: f"Room No. {r.randint(1, 99)} is on the {_ordinal(r)} floor.",
    lambda r, w: f"She paid {_price(r)} for {_count(r, w)} {_thing(r, w, True)}, {_thing(r, w, True)}, etc.",
    lambda r, w: f"The {_thing(r, w)} weighs {_decimal(r)} kilograms.",
    lambda r, w: f"{_person(r, w)} said, \"The {_animal(r, w)} is {r.choice(w.ADJ)}.\"",
    lambda r, w: f"{_person(r, w)} (our {r.choice(w.ROLE)}) will call at {_time(r)}.",
    lambda r, w: f"We walked {_decimal(r)} miles to {r.choice(w.SAINT)} {r.choice(['church', 'hall', 'school'])} on {r.choice(w.DAY)}.",
    lambda r, w: f"Only {_pct(r)} of the {_animal(r, w, True)} in {r.choice(w.TOWN)} are {r.choice(w.ADJ)}.",
    lambda r, w: f"Why did {_person(r, w)} sell the {r.choice(w.ADJ)} {_thing(r, w)}?",
    lambda r, w: f"My {r.choice(w.ROLE)} was born in {_year(r)}.",
    lambda r, w: f"Our {r.choice(w.ROLE)}, {_person(r, w)}, keeps {_count(r, w)} {_animal(r, w, True)} and {_a(_animal(r, w))}.",
    lambda r, w: f"The {r.choice(w.PLACE)} opens at {_time(r)} on {r.choice(w.DAY)}s.",
    lambda r, w: f"Look, {_count(r, w)} {r.choice(w.ADJ)} {_animal(r, w, True)} near the {r.choice(w.PLACE)}!",
    lambda r, w: f"It is {r.randint(2, 40)} {r.choice(w.UNIT)} from {r.choice(w.TOWN)} to {r.choice(w.TOWN)}.",
    lambda r, w: f"{_person(r, w)} left {r.choice(w.TOWN)} on {r.choice(w.DAY)}, the {_ordinal(r)} of {r.choice(w.MONTH)}.",
    lambda r, w: f"The {r.choice(w.ADJ)} {_thing(r, w)} cost {_price(r)}, not {_price(r)}.",
    lambda r, w: f"Please bring the {_thing(r, w, True)} to {r.choice(w.STREET)} before {_time(r)}.",
    lambda r, w: f"{_person(r, w)} counted {_big(r)} {_thing(r, w, True)} and {_count(r, w)} {_animal(r, w, True)}.",
    lambda r, w: f"Do you like the {r.choice(w.ADJ)} {_thing(r, w)} or the {r.choice(w.ADJ)} one?",
]


@dataclass(frozen=True)
class Prompt:
    """One TinySpeech sentence: ``id``, ``raw`` text, ``normalized`` text, ``split``, ``template``."""

    id: str
    raw: str
    normalized: str
    split: str  # "train" | "test"
    template: int


def _candidates(seed: int, words: Words = ALL_WORDS, accept: Callable[[int, str], bool] | None = None):
    """Endless deterministic stream of (template index, raw, normalized) within length limits.

    ``accept(template, raw)``, when given, is a cheap filter applied before normalizing.
    """
    r = random.Random(seed)
    while True:
        t = r.randrange(len(TEMPLATES))
        raw = TEMPLATES[t](r, words).replace("..", ".")  # "... at 5 p.m." + "." ends with one full stop
        if accept is not None and not accept(t, raw):
            continue
        norm = normalize(raw)
        n_words = len(norm.split())
        if MIN_WORDS <= n_words <= MAX_WORDS and MIN_CHARS <= len(norm) <= MAX_CHARS:
            yield t, raw, norm


def _alpha_words(raw: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]+", raw)}


def _words(text: str) -> set[str]:
    return {w.strip("!'(),-.:;?") for w in text.split()} - {""}


def generate_prompts(size: str = "full", seed: int = 0) -> list[Prompt]:
    """The sentences of a TinySpeech corpus: training ones first, then the test split.

    Training sentences are the first distinct sentences of the stream. Test sentences
    are later distinct ones whose template and every word also occur in training.

    Raises
    ------
    ValueError
        Unknown ``size``.
    """
    if size not in SIZES:
        raise ValueError(f"unknown TinySpeech size {size!r}; choose one of {sorted(SIZES)}")
    n_train, n_test = SIZES[size]
    r_state = random.Random(seed)
    stream = _candidates(seed)
    seen: set[str] = set()
    train: list[tuple[int, str, str]] = []
    while len(train) < n_train:
        t, raw, norm = next(stream)
        if norm not in seen:
            seen.add(norm)
            train.append((t, raw, norm))
    vocab = set().union(*(_words(n) for _, _, n in train))
    raw_vocab = set().union(*(_alpha_words(raw) for _, raw, _ in train))
    templates = {t for t, _, _ in train}
    # test sentences: their own stream (seeded from the same seed) drawing from the word
    # lists restricted to words seen in training, pre-filtered on the raw words so that
    # most candidates need not be normalized
    stream = _candidates(
        r_state.randrange(2**31) + 1,
        ALL_WORDS.restricted(raw_vocab),
        lambda t, raw: t in templates and _alpha_words(raw) <= raw_vocab,
    )
    test: list[tuple[int, str, str]] = []
    for _ in range(200_000):
        if len(test) == n_test:
            break
        t, raw, norm = next(stream)
        if norm not in seen and _words(norm) <= vocab:
            seen.add(norm)
            test.append((t, raw, norm))
    else:  # pragma: no cover - the word lists make this unreachable for the sizes above
        raise RuntimeError(f"could not find {n_test} test sentences covered by the training vocabulary")
    out = [Prompt(f"TS-{i + 1:04d}", raw, norm, "train", t) for i, (t, raw, norm) in enumerate(train)]
    out += [Prompt(f"TS-{n_train + i + 1:04d}", raw, norm, "test", t) for i, (t, raw, norm) in enumerate(test)]
    return out
