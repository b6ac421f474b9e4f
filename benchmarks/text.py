"""tacolib's text front end vs NVIDIA's nemo_text_processing, side by side in one run.

    pip install -e ".[nemo]"      # once: the optional backend
    python benchmarks/text.py [--repeats 5]

On two sets of written -> spoken pairs:

* LJSpeech's own raw -> normalized columns (the 32-line sample beside the checkout):
  a front end agrees on a line when its reading of the raw column says the same words
  as LJSpeech's normalized column read by tacolib (which spells out the "i.e." and
  "etc." LJSpeech left; hyphens, case and punctuation aside);
* the course's case tables (``tests/test_text_cases.py``, one per family): the same
  test against the table's expected reading, and how often the two front ends say
  the same words as each other.

Speed: median time to normalize every input of both sets once, interleaved (tacolib,
nemo, tacolib, ...) so that machine load affects both alike; NeMo's one-off grammar
compilation (about 20 s, then cached under the data directory) is not counted.
Without nemo_text_processing only tacolib's column is printed.

Measured 2026-12-02 on the course's 2-core VM under /work/bin/cpu-exclusive, 5 repeats
(nemo_text_processing 1.2.0, pynini 2.1.6.post1, grammars already cached):

    nemo grammars ready in 0.7 s (compiled once, then cached)
    set                                 n   tacolib      nemo  same words (tacolib vs nemo)
    LJSpeech raw -> normalized         32   32 100%   31  97%    31  97%
    cases: cleanup                     16   16 100%   13  81%    13  81%
    cases: abbreviations               20   20 100%   15  75%    15  75%
    cases: dates                       18   18 100%   16  89%    16  89%
    cases: decades                     15   15 100%   11  73%    11  73%
    cases: times                       18   18 100%    9  50%     9  50%
    cases: money                       25   25 100%   15  60%    15  60%
    cases: units                       29   29 100%   17  59%    17  59%
    cases: fractions                   19   19 100%   14  74%    14  74%
    cases: roman                       16   16 100%   16 100%    16 100%
    cases: numbers                     22   22 100%   15  68%    15  68%
    all                               230  230 100%  172  75%   172  75%
    speed, 230 inputs, median of 5: tacolib 0.17 ms/input, nemo 5.21 ms/input; nemo / tacolib = 30.4x

The tables hold the course's own readings, so tacolib's column is 100 % by construction;
nemo's column shows where the two front ends differ. Mostly where nemo leaves the text
half-read: "$-5" -> "dollar-five", "1e6" -> "one e six", "10^6" -> "ten circumflex six",
"4GB" -> "four gb", "3x4" -> "three x four", "00:15" -> "zero fifteen", "3:1" -> "three:one",
"wait...4" -> "wait... point four", "CHF 20" -> "chf twenty", "on 7/4" -> "on seven
quarters"; some are conventions ("1:00:01" -> "one hour zero minutes and one second").
On LJSpeech's own lines tacolib agrees on 32 of 32, nemo on 31 (it writes "etcetera"). Three runs
that day: nemo took 30-42x tacolib's time per input.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import statistics
import time
import warnings
from pathlib import Path

import tacolib
from tacolib.config import TextConfig
from tacolib.text import TextWarning, normalize
from tacolib.text import nemo as nemo_backend

ROOT = Path(__file__).resolve().parents[1]


def words(s: str) -> str:
    """Compare readings by their words: case, hyphens, punctuation, letter spacing ("p m"
    or "PM", "u s" or "US") and the convention "and" ("one hundred (and) five") aside."""
    s = " ".join(w for w in re.sub(r"[^a-z' ]", " ", s.lower().replace("-", " ")).split() if w != "and")
    return re.sub(r"\b([a-z]) (?=[a-z]\b)", r"\1", s)


def case_tables() -> dict[str, list[tuple[str, str]]]:
    spec = importlib.util.spec_from_file_location("text_cases", ROOT / "tests" / "test_text_cases.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.FAMILIES


def ljspeech_pairs() -> list[tuple[str, str]]:
    sample = tacolib.ljspeech_sample_dir()
    if sample is None:
        return []
    lines = (sample / "metadata.csv").read_text(encoding="utf-8").splitlines()
    return [(raw, norm) for _, raw, norm in (line.split("|") for line in lines)]


def read(fn, text: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TextWarning)
        try:
            return fn(text)
        except ValueError as e:
            return f"<{e}>"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    fronts = {"tacolib": lambda s: normalize(s)}
    if nemo_backend.available():
        cfg = TextConfig(normalizer="nemo")
        t0 = time.perf_counter()
        normalize("warm up 1", cfg)
        print(f"nemo grammars ready in {time.perf_counter() - t0:.1f} s (compiled once, then cached)")
        fronts["nemo"] = lambda s: normalize(s, cfg)
    else:
        print('nemo_text_processing is not installed (pip install -e ".[nemo]"): tacolib only')

    lj = ljspeech_pairs()
    tables = case_tables()
    outputs = {name: {} for name in fronts}
    rows = []
    if lj:
        row = ["LJSpeech raw -> normalized", len(lj)]
        for name, fn in fronts.items():
            said = [read(fn, raw) for raw, _ in lj]
            outputs[name]["lj"] = said
            row.append(sum(words(s) == words(normalize(norm)) for s, (_, norm) in zip(said, lj)))
        rows.append(row)
    else:
        print("LJSpeech sample not found beside the checkout: case tables only")
    for family, cases in tables.items():
        row = [f"cases: {family}", len(cases)]
        for name, fn in fronts.items():
            said = [read(fn, raw) for raw, _ in cases]
            outputs[name][family] = said
            row.append(sum(words(s) == words(e) for s, (_, e) in zip(said, cases)))
        rows.append(row)

    head = f"{'set':32s} {'n':>4s} " + " ".join(f"{n:>9s}" for n in fronts)
    if "nemo" in fronts:
        head += "  same words (tacolib vs nemo)"
    print(head)
    total = [0] * (len(fronts) + 2)
    for row in rows:
        key = "lj" if row[0].startswith("LJ") else row[0].split(": ")[1]
        line = f"{row[0]:32s} {row[1]:4d} " + " ".join(f"{k:4d} {100 * k / row[1]:3.0f}%" for k in row[2:])
        same = None
        if "nemo" in fronts:
            same = sum(words(a) == words(b) for a, b in zip(outputs["tacolib"][key], outputs["nemo"][key]))
            line += f"  {same:4d} {100 * same / row[1]:3.0f}%"
        print(line)
        for i, v in enumerate(row[1:] + ([same] if same is not None else [])):
            total[i] += v
    n = total[0]
    line = f"{'all':32s} {n:4d} " + " ".join(f"{k:4d} {100 * k / n:3.0f}%" for k in total[1 : 1 + len(fronts)])
    if "nemo" in fronts:
        line += f"  {total[-1]:4d} {100 * total[-1] / n:3.0f}%"
    print(line)

    inputs = [raw for raw, _ in lj] + [raw for cases in tables.values() for raw, _ in cases]
    times = {name: [] for name in fronts}
    for _ in range(args.repeats):
        for name, fn in fronts.items():
            t0 = time.perf_counter()
            for s in inputs:
                read(fn, s)
            times[name].append(time.perf_counter() - t0)
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"speed, {len(inputs)} inputs, median of {args.repeats}: "
          + ", ".join(f"{name} {1e3 * t / len(inputs):.2f} ms/input" for name, t in med.items())
          + (f"; nemo / tacolib = {med['nemo'] / med['tacolib']:.1f}x" if "nemo" in med else ""))


if __name__ == "__main__":
    main()
