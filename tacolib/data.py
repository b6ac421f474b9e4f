"""The dataset: a corpus folder -> (tokens, mel) items, with a mel cache and bad data handled.

::

    <root>/metadata.csv + wavs/ ──TTSDataset──► {"id", "text", "tokens" (T_in,), "mel" (T_out, n_mels)}

Items become padded batches in :mod:`tacolib.batching`.

Mels are computed once and cached as ``.npy`` files (the seed's preprocessing step)
under ``data_dir()/cache/mels/<corpus>-<hash of its path>/<hash of the audio config>/``,
so a change to any audio setting (sample rate, n_fft, trimming, ...) uses a fresh
folder and a re-recorded wav (newer than its cache file) is recomputed. With
``text.input = "phonemes"`` the transcripts' phonemes are kept beside them
(``tokens-phonemes.json``, :class:`tacolib.text.phonemes.PhonemeCache`). Corpus
folders are never written to (the LJSpeech sample is read-only).

Bad data, and what happens to it (each logged on the ``tacolib.data`` logger with the
file and the reason; never a silent wrong batch):

* metadata line with the wrong number of fields, empty or duplicate id: skipped
  (:func:`tacolib.corpus.read_metadata`);
* missing wav, a file libsndfile cannot open, or a truncated wav (its header promises
  more samples than it holds, :func:`tacolib.audio.audio_info`): skipped when the
  dataset is built;
* a clip longer than ``cfg.data.max_seconds`` (20 s by default; a stray 10-minute
  recording): skipped when the dataset is built;
* a wav that opens but cannot be decoded (truncated, NaN) when first loaded:
  ``__getitem__`` returns None and :func:`tacolib.batching.collate` drops it (the
  batch is smaller); :meth:`TTSDataset.preprocess` finds all such files up front and
  removes them;
* another sample rate: resampled to ``cfg.audio.sample_rate`` on load (logged once
  per dataset, with the number of files);
* text with nothing speakable, or longer than ``cfg.text.max_text_len`` symbols, or
  audio longer than ``cfg.data.max_mel_frames`` (when > 0): skipped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from tacolib.config import Config
from tacolib.runtime import data_dir, ljspeech_sample_dir
from tacolib.safe_io import atomic_open, atomic_write

__all__ = [
    "TTSDataset",
    "load_datasets",
    "corpus_by_name",
    "audio_config_hash",
]

logger = logging.getLogger("tacolib.data")

def audio_config_hash(cfg_audio) -> str:
    """12 hex digits identifying every setting of an :class:`~tacolib.config.AudioConfig`."""
    d = dataclasses.asdict(cfg_audio)
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]


def _default_cache_dir(root: Path, cfg_audio) -> Path:
    root = root.resolve()
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", root.name)[:40]
    key = hashlib.sha256(str(root).encode()).hexdigest()[:8]
    return data_dir() / "cache" / "mels" / f"{name}-{key}" / audio_config_hash(cfg_audio)


class TTSDataset(torch.utils.data.Dataset):
    """Utterances of a corpus in LJSpeech layout as (token ids, scaled mel) pairs.

    Parameters
    ----------
    root : str or Path
        Corpus folder with ``metadata.csv`` and ``wavs/`` (TinySpeech or LJSpeech).
    cfg : Config
        Uses ``cfg.audio`` (mel settings, trimming), ``cfg.text`` (EOS, max length)
        and ``cfg.data`` (``val_fraction`` for corpora without ``test.txt``,
        ``max_mel_frames``).
    ids : list of str, optional
        Exactly these utterances, in this order (``split`` is then ignored). Unknown
        ids raise ``KeyError`` naming them.
    split : {"train", "test", "all"}
        Which part of the corpus: the ids listed in ``<root>/test.txt`` form the test
        split (without that file, a fixed ``cfg.data.val_fraction`` of the ids; see
        :func:`tacolib.corpus.split_ids`).
    cache_dir : str or Path, optional
        Where mels are cached; default under :func:`tacolib.data_dir` (see module doc).
        ``False`` disables the cache.

    Items
    -----
    ``__getitem__`` returns a dict: ``id`` (str), ``text`` (normalized str), ``tokens``
    (``(T_in,)`` long, EOS included when ``cfg.text.add_eos``), ``mel``
    (``(T_out, n_mels)`` float32, scaled to ``[-max_abs_value, max_abs_value]``) -- or
    None when the wav turns out to be undecodable (logged;
    :func:`tacolib.batching.collate` drops it).

    Attributes
    ----------
    ids, texts : list of str
    lengths : list of int
        Mel frames per item: exact once cached, else estimated from the wav header
        (before trimming). Used by the samplers.
    """

    def __init__(
        self,
        root: str | Path,
        cfg: Config,
        ids: Sequence[str] | None = None,
        split: str = "train",
        cache_dir: str | Path | None | bool = None,
    ):
        from tacolib.audio import AudioError, audio_info
        from tacolib.corpus import read_metadata, split_ids
        from tacolib.text import PhonemeCache, input_kind, normalize, symbols_to_ids, tokenize

        if split not in ("train", "test", "all"):
            raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
        self.root = Path(root)
        self.cfg = cfg
        self.split = split
        utts = read_metadata(self.root)
        by_id = {u.id: u for u in utts}
        if ids is not None:
            unknown = [i for i in ids if i not in by_id]
            if unknown:
                raise KeyError(f"ids not in {self.root / 'metadata.csv'}: {unknown[:10]}")
            chosen = [by_id[i] for i in ids]
        elif split == "all":
            chosen = utts
        else:
            train, test = split_ids(self.root, [u.id for u in utts], cfg.data.val_fraction)
            keep = set(train if split == "train" else test)
            chosen = [u for u in utts if u.id in keep]

        if cache_dir is False:
            self.cache_dir = None
        else:
            self.cache_dir = Path(cache_dir) if cache_dir else _default_cache_dir(self.root, cfg.audio)

        a = cfg.audio
        kind = input_kind(cfg.text)  # what a token is: a character or a phoneme (its own cache, beside the mels)
        phonemes = PhonemeCache(self.cache_dir / "tokens-phonemes.json" if self.cache_dir else None) if kind == "phonemes" else None
        self.ids: list[str] = []
        self.texts: list[str] = []
        self.wavs: list[Path] = []
        self.lengths: list[int] = []
        self._tokens: list[torch.Tensor] = []
        self.skipped: dict[str, str] = {}  # id -> reason
        resampled = 0
        for u in chosen:
            if not u.wav.is_file():
                self._skip(u.id, f"wav file missing: {u.wav}")
                continue
            try:
                info = audio_info(u.wav)
            except AudioError as e:  # libsndfile cannot open it, or a truncated wav
                self._skip(u.id, str(e))
                continue
            if info.frames == 0:
                self._skip(u.id, f"{u.wav}: holds no samples")
                continue
            seconds = info.frames / info.samplerate
            if cfg.data.max_seconds and seconds > cfg.data.max_seconds:
                self._skip(u.id, f"{u.wav}: {seconds:.1f} s > data.max_seconds={cfg.data.max_seconds:g}")
                continue
            try:
                text = normalize(u.normalized, cfg.text)
                symbols = phonemes(text) if phonemes is not None else tokenize(text, normalized=True)
            except ValueError as e:
                self._skip(u.id, f"transcript not speakable: {e}")
                continue
            if len(symbols) + int(cfg.text.add_eos) > cfg.text.max_text_len:
                self._skip(u.id, f"transcript has {len(symbols)} {kind} > text.max_text_len={cfg.text.max_text_len}")
                continue
            if info.samplerate != a.sample_rate:
                resampled += 1
            n_samples = int(info.frames * a.sample_rate / info.samplerate)
            length = self._cached_length(u.id, u.wav)
            if length is None:
                length = 1 + n_samples // a.hop_length
            if cfg.data.max_mel_frames and length > cfg.data.max_mel_frames:
                self._skip(u.id, f"{length} mel frames > data.max_mel_frames={cfg.data.max_mel_frames}")
                continue
            self.ids.append(u.id)
            self.texts.append(text)
            self.wavs.append(u.wav)
            self.lengths.append(length)
            self._tokens.append(symbols_to_ids(symbols, add_eos=cfg.text.add_eos, cfg=cfg.text))
        if phonemes is not None:
            phonemes.save()
        if resampled:
            logger.info("%s: %d wav file(s) are not at %d Hz and will be resampled on load", self.root, resampled, a.sample_rate)
        if not self.ids:
            raise ValueError(f"no usable utterance in {self.root} (split={split!r}); skipped: {dict(list(self.skipped.items())[:5])}")

    # ---- helpers -----------------------------------------------------------------
    def _skip(self, uid: str, reason: str) -> None:
        self.skipped[uid] = reason
        logger.warning("skipped %s: %s", uid, reason)

    def _cache_path(self, uid: str) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / f"{uid}.npy"

    def _cached_length(self, uid: str, wav: Path) -> int | None:
        p = self._cache_path(uid)
        if p is None or not p.is_file() or p.stat().st_mtime < wav.stat().st_mtime:
            return None
        try:
            return int(np.load(p, mmap_mode="r").shape[0])
        except (ValueError, OSError):
            return None

    def load_mel(self, index: int) -> torch.Tensor:
        """The scaled mel of item ``index``: ``(T_out, n_mels)`` float32, from cache when valid.

        Raises
        ------
        tacolib.audio.AudioError, FileNotFoundError
            The wav cannot be decoded (names the file).
        """
        from tacolib.audio import load_wav, mel_spectrogram

        uid, wav_path = self.ids[index], self.wavs[index]
        cache = self._cache_path(uid)
        if cache is not None and cache.is_file() and cache.stat().st_mtime >= wav_path.stat().st_mtime:
            try:
                return torch.from_numpy(np.load(cache, allow_pickle=False))  # never unpickles objects
            except (ValueError, OSError):
                logger.warning("%s: unreadable mel cache, recomputing", cache)
        a = self.cfg.audio
        wav = load_wav(wav_path, a.sample_rate, trim=a.trim_silence, top_db=a.trim_top_db)  # (T,)
        mel = mel_spectrogram(wav, a).float()  # (T_out, n_mels)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cfg_file = cache.parent / "audio_config.json"
            if not cfg_file.exists():
                atomic_write(cfg_file, json.dumps(dataclasses.asdict(a), indent=2))
            with atomic_open(cache, durable=False) as f:  # a cache: an unreadable one is recomputed
                np.save(f, mel.numpy())
        self.lengths[index] = int(mel.shape[0])
        return mel

    def preprocess(self, progress: bool = True) -> "TTSDataset":
        """Compute and cache every mel now (the seed's preprocessing step).

        Utterances whose audio cannot be decoded are removed from the dataset (logged
        and listed in ``self.skipped``); ``lengths`` become exact. Returns ``self``.
        """
        from tqdm.auto import tqdm

        from tacolib.audio import AudioError

        bad = []
        for i in tqdm(range(len(self.ids)), desc="mels", unit="utt", disable=not progress):
            try:
                self.load_mel(i)
            except (AudioError, FileNotFoundError) as e:
                self._skip(self.ids[i], str(e))
                bad.append(i)
        for i in reversed(bad):
            for lst in (self.ids, self.texts, self.wavs, self.lengths, self._tokens):
                del lst[i]
        return self

    # ---- Dataset protocol --------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> dict | None:
        from tacolib.audio import AudioError

        try:
            mel = self.load_mel(index)
        except (AudioError, FileNotFoundError) as e:
            logger.warning("dropped %s from its batch: %s", self.ids[index], e)
            return None
        return {"id": self.ids[index], "text": self.texts[index], "tokens": self._tokens[index], "mel": mel}

    def __repr__(self) -> str:
        return f"TTSDataset({str(self.root)!r}, split={self.split!r}, {len(self)} utterances)"


# ---- corpora, for training and for the notebooks -----------------------------------------


def load_datasets(cfg: Config, progress: bool = True) -> dict[str, TTSDataset]:
    """The ``train`` and held-out ``test`` splits of the corpus ``cfg.data`` names.

    TinySpeech is built on first use; LJSpeech must have been prepared
    (``tacolib prepare ljspeech``). Every mel is computed and cached up front
    (:meth:`TTSDataset.preprocess`): the lengths the batches are made from are then
    exact, and an epoch's batches are the same in every session of a run.
    """
    from tacolib.corpus import corpus_root

    root = corpus_root(cfg.data, build=True, progress=progress)
    return {split: TTSDataset(root, cfg, split=split).preprocess(progress=progress) for split in ("train", "test")}


def corpus_by_name(corpus: str | Path) -> Path:
    """The folder of a corpus the notebooks name.

    ``"tinyspeech"``: the fast TinySpeech (built on first use, in about a second);
    ``"ljspeech-sample"``: the 32 real LJSpeech utterances beside the checkout
    (FileNotFoundError when absent); anything else: a corpus folder.
    """
    if corpus == "tinyspeech":
        from tacolib.corpus import tinyspeech

        return tinyspeech.build("fast", progress=False)
    if corpus in ("ljspeech-sample", "ljspeech_sample"):
        root = ljspeech_sample_dir()
        if root is None:
            raise FileNotFoundError("the LJSpeech sample is not at ../shared/ljspeech-sample (set TACOLIB_LJSPEECH_SAMPLE)")
        return root
    return Path(corpus)
