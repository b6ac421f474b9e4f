"""Speech corpora in LJSpeech's layout, and how to find them.

Every corpus the course uses has the layout of LJSpeech 1.1 (Ito and Johnson, 2017)::

    <root>/metadata.csv     id|raw transcript|normalized transcript   (UTF-8, no header)
    <root>/wavs/<id>.wav
    <root>/test.txt         optional: held-out ids, one per line (TinySpeech writes it)

so one reader (:func:`read_metadata`) and one dataset (:class:`tacolib.data.TTSDataset`)
serve both:

* :mod:`tacolib.corpus.tinyspeech` builds TinySpeech, the course's own corpus, offline
  with espeak-ng (:func:`tacolib.corpus.tinyspeech.build`).
* :mod:`tacolib.corpus.ljspeech` downloads, verifies and extracts LJSpeech 1.1
  (:func:`tacolib.corpus.ljspeech.prepare_ljspeech`).
* :mod:`tacolib.corpus.custom` checks a folder of your own recordings
  (:func:`tacolib.corpus.custom.check_voice`, ``data.corpus = "custom"``).

Bad metadata lines (wrong number of fields, empty id, duplicate id) are skipped with a
warning on the ``tacolib.corpus`` logger that names the file and line; a file that is
not UTF-8 is refused, naming the file and line.

**Nothing lost.** A corpus folder tacolib makes carries a marker (LJSpeech:
``.tacolib-corpus``; TinySpeech: its ``.build.json``). tacolib replaces or rebuilds only
marked folders; a non-empty folder without the marker (or a file) given as a corpus
destination is refused with :class:`ForeignFolderError` (:func:`check_destination`),
and nothing in it is touched (:mod:`tacolib.corpus.folders`).
"""

from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass
from pathlib import Path

from tacolib.corpus.folders import MARKER, ForeignFolderError, check_destination, has_marker, remove_leftovers, working_folder, write_marker
from tacolib.safe_io import read_text

__all__ = [
    "Utterance",
    "read_metadata",
    "read_test_ids",
    "split_ids",
    "corpus_root",
    "logger",
    "MARKER",
    "ForeignFolderError",
    "check_destination",
    "write_marker",
    "has_marker",
    "remove_leftovers",
    "working_folder",
]

logger = logging.getLogger("tacolib.corpus")

@dataclass(frozen=True)
class Utterance:
    """One line of ``metadata.csv``.

    Attributes
    ----------
    id : str
        File stem of the wav, e.g. ``"LJ001-0001"``.
    raw : str
        The transcript as written.
    normalized : str
        The corpus's own normalized transcript (the raw one when the file has two fields).
    wav : Path
        ``<root>/wavs/<id>.wav`` (not checked to exist here).
    """

    id: str
    raw: str
    normalized: str
    wav: Path


def read_metadata(root: str | Path) -> list[Utterance]:
    """Read ``<root>/metadata.csv`` (``id|raw|normalized`` or ``id|text`` per line).

    Lines with another number of fields, an empty id or text, or an id seen before are
    skipped with a warning naming ``file:line`` and the reason; blank lines are ignored.

    Raises
    ------
    FileNotFoundError
        ``root`` or its ``metadata.csv`` does not exist.
    ValueError
        Not UTF-8 (naming ``file:line``), or no valid line at all.
    """
    root = Path(root)
    path = root / "metadata.csv"
    if not path.is_file():
        raise FileNotFoundError(f"no metadata.csv in corpus folder {root} (expected LJSpeech layout: metadata.csv, wavs/)")
    out: list[Utterance] = []
    seen: set[str] = set()
    lines = re.split(r"\r\n|\r|\n", read_text(path))  # not UTF-8: ValueError naming file:line
    for lineno, line in enumerate(lines, 1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) not in (2, 3):
            logger.warning("%s:%d: skipped: expected 3 fields id|raw|normalized, got %d", path, lineno, len(fields))
            continue
        uid = fields[0].strip()
        raw = fields[1].strip()
        norm = fields[2].strip() if len(fields) == 3 and fields[2].strip() else raw
        if not uid or not raw:
            logger.warning("%s:%d: skipped: empty id or transcript", path, lineno)
            continue
        if uid in seen:
            logger.warning("%s:%d: skipped: duplicate id %r", path, lineno, uid)
            continue
        seen.add(uid)
        out.append(Utterance(uid, raw, norm, root / "wavs" / f"{uid}.wav"))
    if not out:
        raise ValueError(f"{path}: no valid metadata line")
    return out


def read_test_ids(root: str | Path) -> list[str] | None:
    """The held-out ids listed in ``<root>/test.txt``, or None when there is no such file."""
    path = Path(root) / "test.txt"
    if not path.is_file():
        return None
    return [s.strip() for s in re.split(r"\r\n|\r|\n", read_text(path)) if s.strip()]


def split_ids(root: str | Path, ids: list[str], test_fraction: float = 0.05) -> tuple[list[str], list[str]]:
    """Split ``ids`` (from ``root``'s metadata) into ``(train, test)``.

    With ``<root>/test.txt`` (TinySpeech), the test split is exactly the ids listed
    there. Without it (LJSpeech), a fixed pseudo-random ``test_fraction`` of the ids
    (at least one) is held out: the same ids on every machine, whatever the seed of
    the run. Both lists keep the order of ``ids``.
    """
    listed = read_test_ids(root)
    if listed is not None:
        test = set(listed)
    else:
        n_test = max(1, round(test_fraction * len(ids))) if len(ids) > 1 else 0
        test = set(random.Random(1234).sample(sorted(ids), n_test))
    return [i for i in ids if i not in test], [i for i in ids if i in test]


def corpus_root(data_cfg, build: bool = True, progress: bool = True) -> Path:
    """The folder of the corpus a :class:`tacolib.config.DataConfig` names.

    ``corpus="tinyspeech"`` builds it (size ``data_cfg.size``) when missing and
    ``build`` is true; ``corpus="ljspeech"`` expects it prepared (see
    :func:`tacolib.corpus.ljspeech.prepare_ljspeech`). ``data_cfg.path`` overrides
    the default folder under :func:`tacolib.data_dir`.
    """
    from tacolib.runtime import data_dir

    if data_cfg.corpus == "tinyspeech":
        from tacolib.corpus import tinyspeech

        root = Path(data_cfg.path) if data_cfg.path else tinyspeech.default_root(data_cfg.size)
        if build:
            return tinyspeech.build(size=data_cfg.size, root=root, progress=progress)
        return root
    if data_cfg.corpus == "custom":  # your own recordings (tacolib.corpus.custom)
        if not data_cfg.path or not (Path(data_cfg.path) / "metadata.csv").is_file():
            raise FileNotFoundError(f"data.corpus=custom needs data.path set to a folder with metadata.csv and wavs/ (got {data_cfg.path!r})")
        return Path(data_cfg.path)
    if data_cfg.corpus == "ljspeech":
        root = Path(data_cfg.path) if data_cfg.path else data_dir() / "LJSpeech-1.1"
        if not (root / "metadata.csv").is_file():
            raise FileNotFoundError(
                f"LJSpeech not found at {root}: run `tacolib prepare ljspeech` "
                "(tacolib.corpus.ljspeech.prepare_ljspeech) or set data.path"
            )
        return root
    raise ValueError(f"unknown corpus {data_cfg.corpus!r} in config data.corpus; choose 'tinyspeech', 'ljspeech' or 'custom'")
