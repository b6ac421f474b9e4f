"""tacolib.data and tacolib.batching: dataset items, mel cache, collate (the batch contract), samplers, bad data."""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import time

import numpy as np
import pytest
import soundfile as sf
import torch

import tacolib
from tacolib.audio import load_wav, mel_spectrogram
from tacolib.batching import collate, example_batch, make_collate, make_loader
from tacolib.corpus import tinyspeech
from tacolib.data import TTSDataset, audio_config_hash
from tacolib.samplers import SAMPLERS, LengthBatchSampler, make_sampler
from tacolib.symbols import EOS_ID, PAD_ID
from tacolib.text import ids_to_text


@pytest.fixture(scope="module")
def fast_root():
    return tinyspeech.build("fast", progress=False)


@pytest.fixture
def corpus_copy(fast_root, tmp_path):
    """A writable copy of the fast TinySpeech (for damaging it)."""
    dst = tmp_path / "corpus"
    shutil.copytree(fast_root, dst)
    return dst


def _item(uid: str, n_tokens: int, n_frames: int, n_mels: int = 80, fill: float = 0.5):
    tokens = torch.arange(2, 2 + n_tokens) % 37 + 2
    tokens[-1] = EOS_ID
    return {"id": uid, "text": "x" * n_tokens, "tokens": tokens, "mel": torch.full((n_frames, n_mels), fill)}


# ---- collate: the batch table of CONTRIBUTING.md ---------------------------------------


@pytest.mark.parametrize("r", [1, 2, 3, 5])
def test_collate_follows_the_batch_contract(tiny_cfg, r):
    cfg = tiny_cfg.override({"model.r": r})
    items = [_item("a", 5, 7), _item("b", 9, 4), _item("c", 3, 10)]
    batch = collate(items, cfg)
    B = 3
    T_out = batch["mel"].shape[1]
    assert T_out % r == 0 and T_out >= 10 and T_out - 10 < r
    assert batch["text"].shape == (B, 9) and batch["text"].dtype == torch.long
    assert batch["mel"].shape == (B, T_out, 80) and batch["mel"].dtype == torch.float32
    assert batch["gate_targets"].shape == (B, T_out) and batch["gate_targets"].dtype == torch.float32
    assert batch["mel_mask"].shape == (B, T_out) and batch["mel_mask"].dtype == torch.bool
    # sorted by decreasing text length; ids and texts follow
    assert batch["ids"] == ["b", "a", "c"]
    assert batch["text_lengths"].tolist() == [9, 5, 3]
    assert batch["mel_lengths"].tolist() == [4, 7, 10]
    for b, it in enumerate([items[1], items[0], items[2]]):
        n, t = len(it["tokens"]), it["mel"].shape[0]
        assert torch.equal(batch["text"][b, :n], it["tokens"])
        assert (batch["text"][b, n:] == PAD_ID).all()
        assert torch.equal(batch["mel"][b, :t], it["mel"])
        assert (batch["mel"][b, t:] == cfg.audio.pad_value).all()
        assert batch["mel_mask"][b].tolist() == [True] * t + [False] * (T_out - t)
        assert batch["gate_targets"][b].tolist() == [0.0] * (t - 1) + [1.0] * (T_out - t + 1)
    assert batch["texts"][0] == "x" * 9


def test_pad_value_is_below_every_real_frame(tiny_cfg):
    assert tiny_cfg.audio.pad_value < -tiny_cfg.audio.max_abs_value


def test_collate_drops_none_items_with_a_warning(tiny_cfg, caplog):
    with caplog.at_level(logging.WARNING, logger="tacolib.data"):
        batch = collate([_item("a", 4, 6), None, _item("b", 3, 3)], tiny_cfg)
    assert batch["ids"] == ["a", "b"] and batch["mel"].shape[0] == 2
    assert "1 of 3 items" in caplog.text
    with pytest.raises(ValueError, match="no usable item"):
        collate([None, None], tiny_cfg)


def test_collate_rejects_mixed_mel_channels(tiny_cfg):
    with pytest.raises(ValueError, match="mel channels"):
        collate([_item("a", 4, 6, n_mels=80), _item("b", 4, 6, n_mels=40)], tiny_cfg)


def test_make_collate_is_picklable_for_workers(tiny_cfg):
    fn = pickle.loads(pickle.dumps(make_collate(tiny_cfg)))
    assert fn([_item("a", 4, 6)])["mel"].shape[1] % tiny_cfg.model.r == 0


# ---- dataset -----------------------------------------------------------------------------


def test_dataset_items_on_tinyspeech(fast_root, tiny_cfg, tmp_path):
    ds = TTSDataset(fast_root, tiny_cfg, split="train", cache_dir=tmp_path / "cache")
    test = TTSDataset(fast_root, tiny_cfg, split="test", cache_dir=tmp_path / "cache")
    every = TTSDataset(fast_root, tiny_cfg, split="all", cache_dir=tmp_path / "cache")
    listed = (fast_root / "test.txt").read_text().split()
    assert sorted(test.ids) == sorted(listed)
    assert not set(ds.ids) & set(test.ids) and len(ds) + len(test) == len(every) == 48
    item = ds[0]
    assert set(item) == {"id", "text", "tokens", "mel"}
    assert item["tokens"].dtype == torch.long and item["tokens"][-1] == EOS_ID
    assert ids_to_text(item["tokens"]) == item["text"]
    # the mel is exactly the audio front end's on the trimmed wav
    a = tiny_cfg.audio
    wav = load_wav(fast_root / "wavs" / f"{item['id']}.wav", a.sample_rate, trim=a.trim_silence, top_db=a.trim_top_db)
    torch.testing.assert_close(item["mel"], mel_spectrogram(wav, a))
    assert item["mel"].shape[1] == a.n_mels
    assert item["mel"].min() >= -a.max_abs_value and item["mel"].max() <= a.max_abs_value
    assert ds.lengths[0] == item["mel"].shape[0]


def test_ids_select_exactly_those(fast_root, tiny_cfg, tmp_path):
    ds = TTSDataset(fast_root, tiny_cfg, ids=["TS-0003", "TS-0001"], cache_dir=False)
    assert ds.ids == ["TS-0003", "TS-0001"]
    with pytest.raises(KeyError, match="TS-9999"):
        TTSDataset(fast_root, tiny_cfg, ids=["TS-0001", "TS-9999"], cache_dir=False)
    with pytest.raises(ValueError, match="split"):
        TTSDataset(fast_root, tiny_cfg, split="validation")


def test_mel_cache_is_used_and_keyed_by_audio_config(fast_root, tiny_cfg, tmp_path):
    cache = tmp_path / "cache"
    ds = TTSDataset(fast_root, tiny_cfg, ids=["TS-0001"])
    default = ds.cache_dir
    assert audio_config_hash(tiny_cfg.audio) == default.name  # folder named by the audio hash
    ds = TTSDataset(fast_root, tiny_cfg, ids=["TS-0001"], cache_dir=cache / audio_config_hash(tiny_cfg.audio))
    first = ds[0]["mel"]
    npy = ds.cache_dir / "TS-0001.npy"
    assert npy.is_file()
    # the cached file is what is served: overwrite it and read it back
    np.save(npy, np.zeros((5, 80), np.float32))
    os.utime(npy, (time.time() + 5, time.time() + 5))
    assert ds[0]["mel"].shape == (5, 80)
    # another audio config: another default folder (hash), so a fresh mel
    other = tiny_cfg.override({"audio.n_mels": 40})
    assert audio_config_hash(other.audio) != audio_config_hash(tiny_cfg.audio)
    ds2 = TTSDataset(fast_root, other, ids=["TS-0001"])
    assert ds2.cache_dir != default and ds2.cache_dir.name == audio_config_hash(other.audio)
    assert ds2[0]["mel"].shape[1] == 40
    assert first.shape[1] == 80


def test_cache_recomputed_when_wav_is_newer(corpus_copy, tiny_cfg, tmp_path):
    ds = TTSDataset(corpus_copy, tiny_cfg, ids=["TS-0001"], cache_dir=tmp_path / "c")
    ds[0]
    npy = tmp_path / "c" / "TS-0001.npy"
    np.save(npy, np.zeros((5, 80), np.float32))
    past = time.time() - 100
    os.utime(npy, (past, past))
    os.utime(corpus_copy / "wavs" / "TS-0001.wav")  # re-recorded now
    assert ds[0]["mel"].shape[0] != 5  # the wav is newer than the cache: recomputed


def test_missing_wav_and_bad_metadata_lines_are_skipped(corpus_copy, tiny_cfg, caplog):
    (corpus_copy / "wavs" / "TS-0002.wav").unlink()
    meta = corpus_copy / "metadata.csv"
    lines = meta.read_text().splitlines()
    lines[2] = "TS-0003|only two fields|but|four"
    lines.append("TS-0001|duplicate|duplicate")
    meta.write_text("\n".join(lines) + "\n")
    with caplog.at_level(logging.WARNING):
        ds = TTSDataset(corpus_copy, tiny_cfg, split="all", cache_dir=False)
    assert "TS-0002" not in ds.ids and "TS-0003" not in ds.ids
    assert len(ds) == 46
    assert "TS-0002" in ds.skipped and "missing" in ds.skipped["TS-0002"]
    assert "expected 3 fields" in caplog.text and "metadata.csv:3" in caplog.text
    assert "duplicate id" in caplog.text


def test_unreadable_wav_is_skipped_at_init(corpus_copy, tiny_cfg, caplog):
    (corpus_copy / "wavs" / "TS-0004.wav").write_bytes(b"this is not a wav file at all" * 10)
    with caplog.at_level(logging.WARNING, logger="tacolib.data"):
        ds = TTSDataset(corpus_copy, tiny_cfg, split="all", cache_dir=False)
    assert "TS-0004" not in ds.ids and "not readable audio" in ds.skipped["TS-0004"]
    assert "TS-0004" in caplog.text


def test_empty_wav_is_skipped_at_init(corpus_copy, tiny_cfg):
    wav = corpus_copy / "wavs" / "TS-0005.wav"
    sf.write(wav, np.zeros(0, dtype=np.int16), 22050, subtype="PCM_16")  # a whole file of no samples
    cut = corpus_copy / "wavs" / "TS-0006.wav"
    cut.write_bytes(cut.read_bytes()[:44])  # the header only: it promises samples it lacks
    ds = TTSDataset(corpus_copy, tiny_cfg, split="all", cache_dir=False)
    assert "TS-0005" not in ds.ids and "no samples" in ds.skipped["TS-0005"]
    assert "TS-0006" not in ds.ids and "truncated" in ds.skipped["TS-0006"]


def test_undecodable_wav_is_dropped_from_its_batch_and_by_preprocess(corpus_copy, tiny_cfg, tmp_path, caplog):
    # a valid header over NaN samples: opens fine, fails when loaded
    bad = np.full(22050, np.nan, dtype=np.float32)
    sf.write(corpus_copy / "wavs" / "TS-0005.wav", bad, 22050, subtype="FLOAT")
    ds = TTSDataset(corpus_copy, tiny_cfg, ids=["TS-0005", "TS-0006"], cache_dir=tmp_path / "c")
    assert ds.ids == ["TS-0005", "TS-0006"]
    with caplog.at_level(logging.WARNING, logger="tacolib.data"):
        assert ds[0] is None
        batch = collate([ds[0], ds[1]], tiny_cfg)
    assert batch["ids"] == ["TS-0006"] and batch["mel"].shape[0] == 1
    assert "dropped TS-0005" in caplog.text
    ds.preprocess(progress=False)
    assert ds.ids == ["TS-0006"] and "TS-0005" in ds.skipped and len(ds.lengths) == 1


def test_other_sample_rate_is_resampled(corpus_copy, tiny_cfg, tmp_path, caplog):
    path = corpus_copy / "wavs" / "TS-0007.wav"
    wav, sr = sf.read(path, dtype="float32")
    import librosa

    sf.write(path, librosa.resample(wav, orig_sr=sr, target_sr=16000), 16000, subtype="PCM_16")
    with caplog.at_level(logging.INFO, logger="tacolib.data"):
        ds = TTSDataset(corpus_copy, tiny_cfg, ids=["TS-0007"], cache_dir=tmp_path / "c")
    assert "resampled" in caplog.text
    mel = ds[0]["mel"]
    seconds = len(wav) / sr
    # about the same number of frames as the original rate would give (trimming aside)
    assert abs(mel.shape[0] - seconds * tiny_cfg.audio.frames_per_second) < 0.25 * seconds * tiny_cfg.audio.frames_per_second


def test_unspeakable_and_too_long_text_skipped(corpus_copy, tiny_cfg):
    meta = corpus_copy / "metadata.csv"
    lines = meta.read_text().splitlines()
    lines[0] = "TS-0001|...|..."
    meta.write_text("\n".join(lines) + "\n")
    ds = TTSDataset(corpus_copy, tiny_cfg, split="all", cache_dir=False)
    assert "TS-0001" in ds.skipped and "speakable" in ds.skipped["TS-0001"]
    short = tiny_cfg.override({"text.max_text_len": 30})
    ds = TTSDataset(corpus_copy, short, split="all", cache_dir=False)
    assert all(len(t) + 1 <= 30 for t in ds.texts) and len(ds.skipped) > 1


def test_ljspeech_sample_loads(ljspeech_sample, paper_cfg, tmp_path):
    ds = TTSDataset(ljspeech_sample, paper_cfg, split="all", cache_dir=tmp_path / "c")
    assert len(ds) == 32
    train = TTSDataset(ljspeech_sample, paper_cfg, split="train", cache_dir=False)
    test = TTSDataset(ljspeech_sample, paper_cfg, split="test", cache_dir=False)
    assert len(test) >= 1 and not set(train.ids) & set(test.ids) and len(train) + len(test) == 32
    i = ds.ids.index("LJ001-0009")
    item = ds[i]
    assert item["text"].startswith("printing, then, for our purpose")
    assert item["mel"].shape[1] == 80
    # LJ001-0001 is about 9.7 s long: about 840 frames at 86 frames/s (trimmed: a bit fewer)
    assert 700 < ds[ds.ids.index("LJ001-0001")]["mel"].shape[0] < 860
    # the default cache never writes into the (read-only, shared) corpus folder
    default = TTSDataset(ljspeech_sample, paper_cfg, ids=["LJ001-0002"]).cache_dir.resolve()
    assert not default.is_relative_to(ljspeech_sample.resolve())
    assert default.is_relative_to(tacolib.data_dir().resolve())


# ---- samplers ----------------------------------------------------------------------------


LENGTHS = [int(x) for x in np.random.default_rng(0).integers(50, 800, size=203)]


@pytest.mark.parametrize("kind", SAMPLERS)
def test_every_sampler_covers_each_item_once(kind):
    s = LengthBatchSampler(LENGTHS, 16, kind=kind, seed=3)
    batches = list(s)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(LENGTHS)))
    assert all(1 <= len(b) <= 16 for b in batches) and len(batches) == len(s) == 13


def test_drop_last():
    s = LengthBatchSampler(LENGTHS, 16, kind="bucket", seed=0, drop_last=True)
    assert all(len(b) == 16 for b in s) and len(s.batches(0)) == 12


def _padding(batches):
    real = sum(LENGTHS[i] for b in batches for i in b)
    return 1 - real / sum(len(b) * max(LENGTHS[i] for i in b) for b in batches)


def test_bucket_batches_are_tight_yet_random():
    s = LengthBatchSampler(LENGTHS, 16, kind="bucket", seed=0)
    r = LengthBatchSampler(LENGTHS, 16, kind="random", seed=0)
    e0, e1 = s.batches(0), s.batches(1)
    assert _padding(e0) < 0.5 * _padding(r.batches(0))  # much less padding than random
    assert e0 != e1  # a new epoch, new batches
    assert s.batches(0) == e0  # deterministic per (seed, epoch)
    # batch order is not sorted by length
    maxes = [max(LENGTHS[i] for i in b) for b in e0]
    assert maxes != sorted(maxes)


def test_sorted_is_the_same_every_epoch_and_ordered():
    s = LengthBatchSampler(LENGTHS, 16, kind="sorted", seed=0)
    e0, e1 = list(s), list(s)
    assert e0 == e1
    maxes = [max(LENGTHS[i] for i in b) for b in e0]
    assert maxes == sorted(maxes)


def test_sampler_epoch_advances_and_rejects_bad_input():
    s = LengthBatchSampler(LENGTHS, 16, kind="random", seed=0)
    assert list(s) != list(s)
    s.set_epoch(0)
    assert list(s) == LengthBatchSampler(LENGTHS, 16, kind="random", seed=0).batches(0)
    with pytest.raises(ValueError, match="sampler kind"):
        LengthBatchSampler(LENGTHS, 16, kind="shuffled")
    with pytest.raises(ValueError, match="batch_size"):
        LengthBatchSampler(LENGTHS, 0)


def test_make_loader_yields_contract_batches(fast_root, tiny_cfg, tmp_path):
    ds = TTSDataset(fast_root, tiny_cfg, split="train", cache_dir=tmp_path / "c")
    cfg = tiny_cfg.override({"train.batch_size": 8})
    seen = []
    for batch in make_loader(ds, cfg, shuffle=True):
        assert batch["mel"].shape[1] % cfg.model.r == 0 and batch["mel"].shape[0] <= 8
        seen += batch["ids"]
    assert sorted(seen) == sorted(ds.ids)
    sampler = make_sampler(ds, "sorted", 8)
    assert len(sampler) == 5


def test_make_loader_takes_given_batches_and_leaves_the_global_rng_alone(fast_root, tiny_cfg, tmp_path):
    ids = ["TS-0001", "TS-0002", "TS-0003", "TS-0004"]
    ds = TTSDataset(fast_root, tiny_cfg, ids=ids, cache_dir=tmp_path / "c")
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    got = [sorted(b["ids"]) for b in make_loader(ds, tiny_cfg, batches=[[3, 1], [0]], epoch=2)]
    assert got == [["TS-0002", "TS-0004"], ["TS-0001"]], "exactly these batches, in this order"
    assert torch.equal(torch.rand(3), expected), "loading drew nothing from torch's global RNG (dropout masks stay put)"


# ---- example_batch -------------------------------------------------------------------------


def test_example_batch_is_real_and_reproducible(tiny_cfg):
    b1 = example_batch(tiny_cfg, n=4, seed=1)
    b2 = example_batch(tiny_cfg, n=4, seed=1)
    b3 = example_batch(tiny_cfg, n=4, seed=2)
    assert b1["ids"] == b2["ids"] and torch.equal(b1["mel"], b2["mel"])
    assert b1["ids"] != b3["ids"]
    assert b1["mel"].shape[0] == 4 and b1["mel"].shape[1] % tiny_cfg.model.r == 0
    real = b1["mel"][b1["mel_mask"]]
    assert real.std() > 0.5  # speech, not padding
    test = example_batch(tiny_cfg, n=100, split="test")
    assert test["mel"].shape[0] == 8


def test_example_batch_on_ljspeech_sample(ljspeech_sample, tiny_cfg):
    b = example_batch(tiny_cfg, n=2, corpus="ljspeech-sample")
    assert all(i.startswith("LJ001-") for i in b["ids"])


def test_loader_with_a_worker_process(fast_root, tiny_cfg, tmp_path):
    ds = TTSDataset(fast_root, tiny_cfg, ids=["TS-0001", "TS-0002", "TS-0003"], cache_dir=tmp_path / "c")
    cfg = tiny_cfg.override({"train.batch_size": 2, "train.num_workers": 1})
    batches = list(make_loader(ds, cfg, shuffle=False))
    assert [len(b["ids"]) for b in batches] == [2, 1]
    assert sorted(batches[0]["ids"] + batches[1]["ids"]) == ["TS-0001", "TS-0002", "TS-0003"]
    assert len(list((tmp_path / "c").glob("*.npy"))) == 3  # workers fill the cache too


# ---- silent wrong results (issue 16) -------------------------------------------------------


def test_a_truncated_wav_is_skipped_at_init_not_kept_with_its_full_transcript(corpus_copy, tiny_cfg, caplog):
    wav = corpus_copy / "wavs" / "TS-0003.wav"
    data = wav.read_bytes()
    wav.write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING, logger="tacolib.data"):
        ds = TTSDataset(corpus_copy, tiny_cfg, split="all", cache_dir=False)
    assert "TS-0003" not in ds.ids and "truncated" in ds.skipped["TS-0003"]
    assert "TS-0003.wav" in caplog.text


def test_a_clip_longer_than_max_seconds_is_skipped_with_a_warning(corpus_copy, tiny_cfg, caplog):
    sf.write(corpus_copy / "wavs" / "TS-0004.wav", np.zeros(600 * 8000, dtype=np.int16), 8000, subtype="PCM_16")  # 10 minutes
    assert tiny_cfg.data.max_seconds > 0
    with caplog.at_level(logging.WARNING, logger="tacolib.data"):
        ds = TTSDataset(corpus_copy, tiny_cfg, split="all", cache_dir=False)
    assert "TS-0004" not in ds.ids and "600.0 s > data.max_seconds" in ds.skipped["TS-0004"]
    assert "TS-0004" in caplog.text
    keep_all = tiny_cfg.override({"data.max_seconds": 0})
    assert "TS-0004" in TTSDataset(corpus_copy, keep_all, split="all", cache_dir=False).ids


def test_a_mel_cache_file_holding_pickled_objects_is_not_opened_but_recomputed(fast_root, tiny_cfg, tmp_path, malicious):
    ds = TTSDataset(fast_root, tiny_cfg, ids=["TS-0001"], cache_dir=tmp_path / "c")
    good = ds[0]["mel"]
    cache = tmp_path / "c" / "TS-0001.npy"
    malicious(cache, "npy")
    future = time.time() + 100
    os.utime(cache, (future, future))  # newer than the wav: the cache would be used
    ds2 = TTSDataset(fast_root, tiny_cfg, ids=["TS-0001"], cache_dir=tmp_path / "c")
    assert torch.equal(ds2[0]["mel"], good)
    assert not malicious.marker.exists()


def test_make_loader_refuses_a_batch_size_of_zero_instead_of_using_the_default(fast_root, tiny_cfg, tmp_path):
    ds = TTSDataset(fast_root, tiny_cfg, split="test", cache_dir=tmp_path / "c")
    for bad in (0, -1):
        with pytest.raises(ValueError, match=f"batch_size must be >= 1, got {bad}"):
            make_loader(ds, tiny_cfg, shuffle=False, batch_size=bad)
