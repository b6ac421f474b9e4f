"""tacolib.corpus: metadata reading, TinySpeech builder, LJSpeech download (local fixtures only)."""

from __future__ import annotations

import hashlib
import http.server
import io
import logging
import re
import socket
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import tacolib
import tacolib.espeak
from tacolib.config import DataConfig
from tacolib.corpus import corpus_root, ljspeech, read_metadata, read_test_ids, split_ids, tinyspeech
from tacolib.symbols import SYMBOLS
from tacolib.text import normalize


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---- metadata ------------------------------------------------------------------------------


def test_read_metadata_on_ljspeech_sample(ljspeech_sample):
    utts = read_metadata(ljspeech_sample)
    assert len(utts) == 32 and utts[0].id == "LJ001-0001"
    assert all(u.wav.is_file() for u in utts)
    lj = {u.id: u for u in utts}["LJ001-0003"]
    assert lj.raw != lj.normalized or "1465" not in lj.raw


def test_read_metadata_two_fields_and_errors(tmp_path, caplog):
    (tmp_path / "metadata.csv").write_text("a|Hello there.\n\nb|x|y|z\n|no id|no id\nc|Hi.|hi.\n")
    with caplog.at_level(logging.WARNING, logger="tacolib.corpus"):
        utts = read_metadata(tmp_path)
    assert [(u.id, u.normalized) for u in utts] == [("a", "Hello there."), ("c", "hi.")]
    assert "metadata.csv:3" in caplog.text and "expected 3 fields" in caplog.text and "metadata.csv:4" in caplog.text
    with pytest.raises(FileNotFoundError, match="metadata.csv"):
        read_metadata(tmp_path / "nowhere")
    (tmp_path / "metadata.csv").write_text("a|b|c|d\n")
    with pytest.raises(ValueError, match="no valid metadata line"):
        read_metadata(tmp_path)


def test_split_ids_with_and_without_test_file(tmp_path):
    ids = [f"u{i:03d}" for i in range(100)]
    train, test = split_ids(tmp_path, ids, 0.05)
    assert len(test) == 5 and set(train) | set(test) == set(ids) and not set(train) & set(test)
    assert split_ids(tmp_path, list(reversed(ids)), 0.05)[1] == list(reversed(test))  # same ids, any order
    (tmp_path / "test.txt").write_text("u007\nu042\n")
    assert split_ids(tmp_path, ids)[1] == ["u007", "u042"]
    assert read_test_ids(tmp_path) == ["u007", "u042"]


def test_corpus_root_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="tacolib prepare ljspeech"):
        corpus_root(DataConfig(corpus="ljspeech", path=str(tmp_path)))
    with pytest.raises(ValueError, match="unknown corpus"):
        corpus_root(DataConfig(corpus="timit"))
    assert corpus_root(DataConfig(corpus="tinyspeech", size="fast", path=str(tmp_path / "ts")), build=False) == tmp_path / "ts"


# ---- TinySpeech ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def full_prompts():
    return tinyspeech.generate_prompts("full", seed=0)


def test_full_prompts_sizes_and_split(full_prompts):
    train = [p for p in full_prompts if p.split == "train"]
    test = [p for p in full_prompts if p.split == "test"]
    assert len(full_prompts) >= 2000 and len(train) == 2000 and len(test) == 100
    assert len({p.id for p in full_prompts}) == len(full_prompts)
    assert len({p.normalized for p in full_prompts}) == len(full_prompts)  # no repeats, none shared
    words = set()
    for p in train:
        words |= set(re.findall(r"[a-z']+", p.normalized))
    for p in test:
        assert set(re.findall(r"[a-z']+", p.normalized)) <= words, p
    assert {p.template for p in test} <= {p.template for p in train}


def test_prompts_need_normalization(full_prompts):
    raw = " ".join(p.raw for p in full_prompts)
    for pattern in [r"\$\d+\.\d\d", "£", r"\d,\d{3}", r"\d+%", r"\d:\d\d [ap]\.m\.", r"\d(st|nd|rd|th)\b", r"\b1[6-9]\d\d\b",
                    r"\d\.\d", r"\b(Mr|Mrs|Dr|Prof|Capt)\. ", r"\bSt\. [A-Z]", r"\bSt\.", r"etc\.", r"No\. \d", "[?!;\"()]"]:
        assert re.search(pattern, raw), pattern
    for p in full_prompts[:300]:
        assert p.normalized == normalize(p.raw)
        assert set(p.normalized) <= set(SYMBOLS[2:])
        assert 4 <= len(p.normalized.split()) <= 22


def test_prompts_are_deterministic_and_seeded():
    a = tinyspeech.generate_prompts("fast", seed=0)
    assert a == tinyspeech.generate_prompts("fast", seed=0)
    assert a != tinyspeech.generate_prompts("fast", seed=1)
    assert len(a) == 48 and sum(p.split == "test" for p in a) == 8
    with pytest.raises(ValueError, match="size"):
        tinyspeech.generate_prompts("huge")


def test_fast_build_layout_and_durations(tmp_path):
    root = tinyspeech.build("fast", root=tmp_path / "ts", progress=False)
    lines = (root / "metadata.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 48
    test_ids = (root / "test.txt").read_text().split()
    assert len(test_ids) == 8
    durations = []
    for line in lines:
        uid, raw, norm = line.split("|")
        assert norm == normalize(raw)
        info = sf.info(str(root / "wavs" / f"{uid}.wav"))
        assert info.samplerate == 22050 and info.channels == 1 and info.subtype == "PCM_16"
        durations.append(info.duration)
    d = np.array(durations)
    assert d.min() >= 1.0 and d.max() <= 8.0, (d.min(), d.max())
    assert np.mean((d >= 1.0) & (d <= 4.0)) > 0.7  # mostly short
    assert utts_match(root)


def utts_match(root: Path) -> bool:
    return [u.id for u in read_metadata(root)] == [f"TS-{i:04d}" for i in range(1, 49)]


def test_build_is_byte_identical_and_reused(tmp_path, monkeypatch):
    a = tinyspeech.build("fast", root=tmp_path / "a", progress=False)
    b = tinyspeech.build("fast", root=tmp_path / "b", progress=False)
    assert _tree_bytes(a) == _tree_bytes(b)
    calls = []
    monkeypatch.setattr(tacolib.espeak, "synthesize", lambda *a, **k: calls.append(1) or (_ for _ in ()).throw(AssertionError))
    assert tinyspeech.build("fast", root=a, progress=False) == a  # reused: nothing synthesized
    # even when the quick check cannot be used (state file from another code version)
    state = (a / ".build.json").read_text()
    (a / ".build.json").write_text(state.replace('"code": "', '"code": "0'))
    tinyspeech.build("fast", root=a, progress=False)
    assert calls == [] and _tree_bytes(a) == _tree_bytes(b)


def test_interrupted_build_resumes(tmp_path, monkeypatch):
    real = tacolib.espeak.synthesize
    calls = []

    def flaky(text, **kw):
        calls.append(text)
        if len(calls) > 10:
            raise KeyboardInterrupt
        return real(text, **kw)

    monkeypatch.setattr(tacolib.espeak, "synthesize", flaky)
    root = tmp_path / "ts"
    with pytest.raises(KeyboardInterrupt):
        tinyspeech.build("fast", root=root, progress=False)
    assert not (root / "metadata.csv").exists()  # never looks complete
    assert len(list((root / "wavs").glob("*.wav"))) == 10
    assert not list((root / "wavs").glob(".*tmp"))
    calls.clear()
    monkeypatch.setattr(tacolib.espeak, "synthesize", lambda text, **kw: calls.append(text) or real(text, **kw))
    tinyspeech.build("fast", root=root, progress=False)
    assert len(calls) == 38  # only the missing ones
    fresh = tinyspeech.build("fast", root=tmp_path / "fresh", progress=False)
    assert _tree_bytes(root) == _tree_bytes(fresh)


def test_build_replaces_another_seed_and_refuses_foreign_folders(tmp_path):
    root = tmp_path / "ts"
    tinyspeech.build("fast", root=root, seed=1, progress=False)
    tinyspeech.build("fast", root=root, seed=0, progress=False)
    assert _tree_bytes(root) == _tree_bytes(tinyspeech.build("fast", root=tmp_path / "ref", progress=False))
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("precious")
    with pytest.raises(FileExistsError, match="not a TinySpeech folder"):
        tinyspeech.build("fast", root=foreign, progress=False)
    assert (foreign / "notes.txt").read_text() == "precious"


def test_default_roots():
    assert tinyspeech.default_root("full") == tacolib.data_dir() / "tinyspeech"
    assert tinyspeech.default_root("fast") == tacolib.data_dir() / "tinyspeech-fast"
    assert tinyspeech.default_root("fast", seed=3).name == "tinyspeech-fast-seed3"


# ---- LJSpeech download (local fixtures, no network) -----------------------------------------------


@pytest.fixture
def tiny_archive(tmp_path):
    """A 3-utterance archive in LJSpeech 1.1's layout, and its SHA-256."""
    buf = io.BytesIO()
    meta = "LJ900-0001|Dr. Who paid $5.|doctor who paid five dollars.\nLJ900-0002|In 1465.|In fourteen sixty-five.\nLJ900-0003|Hi there.|Hi there.\n"
    with tarfile.open(fileobj=buf, mode="w:bz2") as tar:
        def add(name, data):
            info = tarfile.TarInfo(f"LJSpeech-1.1/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        add("metadata.csv", meta.encode())
        add("README", b"a tiny stand-in\n")
        t = np.arange(22050) / 22050
        for i in range(1, 4):
            wav = io.BytesIO()
            sf.write(wav, (0.3 * np.sin(2 * np.pi * 220 * i * t)).astype(np.float32), 22050, format="WAV", subtype="PCM_16")
            add(f"wavs/LJ900-000{i}.wav", wav.getvalue())
    data = buf.getvalue()
    path = tmp_path / "src" / "LJSpeech-1.1.tar.bz2"
    path.parent.mkdir()
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest(), data


class _Server:
    """A local HTTP server for one file, with optional Range support; records request headers."""

    def __init__(self, data: bytes, ranges: bool = True):
        self.data, self.ranges, self.requests = data, ranges, []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(dict(self.headers))
                rng = self.headers.get("Range")
                body, status = outer.data, 200
                if rng and outer.ranges:
                    start = int(re.match(r"bytes=(\d+)-", rng).group(1))
                    if start >= len(outer.data):
                        self.send_response(416)
                        self.end_headers()
                        return
                    body, status = outer.data[start:], 206
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/LJSpeech-1.1.tar.bz2"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_prepare_ljspeech_from_file_url(tiny_archive, tmp_path, tiny_cfg):
    src, sha, _ = tiny_archive
    root = ljspeech.prepare_ljspeech(
        tmp_path / "data" / "LJSpeech-1.1", url=src.as_uri(), sha256=sha, expected_size=src.stat().st_size,
        expected_utterances=3, progress=False,
    )
    assert (root / "metadata.csv").is_file() and len(list((root / "wavs").glob("*.wav"))) == 3
    assert (root.parent / "LJSpeech-1.1.tar.bz2").is_file()
    assert ljspeech.verify_corpus(root, 3) == 3
    from tacolib.data import TTSDataset

    ds = TTSDataset(root, tiny_cfg, split="all", cache_dir=tmp_path / "cache")
    assert ds.texts[0] == "doctor who paid five dollars." and ds[1]["mel"].shape[1] == 80
    # prepared already: returned without touching the (now removed) source
    src.unlink()
    assert ljspeech.prepare_ljspeech(root, url=src.as_uri(), sha256=sha, expected_utterances=3, progress=False) == root


def test_http_download_resumes_with_range(tiny_archive, tmp_path):
    _, sha, data = tiny_archive
    dest = tmp_path / "dl" / "LJSpeech-1.1.tar.bz2"
    dest.parent.mkdir()
    (dest.parent / (dest.name + ".part")).write_bytes(data[: len(data) // 2])
    with _Server(data) as server:
        ljspeech.download(server.url, dest, expected_size=len(data), progress=False)
    assert server.requests[0].get("Range") == f"bytes={len(data) // 2}-"
    assert dest.read_bytes() == data and not (dest.parent / (dest.name + ".part")).exists()
    ljspeech.verify_checksum(dest, sha)


def test_http_download_restarts_when_range_is_ignored(tiny_archive, tmp_path):
    _, _, data = tiny_archive
    dest = tmp_path / "x.tar.bz2"
    (tmp_path / "x.tar.bz2.part").write_bytes(b"garbage that a server without ranges must not keep")
    with _Server(data, ranges=False) as server:
        ljspeech.download(server.url, dest, progress=False)
    assert dest.read_bytes() == data


def test_complete_part_file_and_short_download(tiny_archive, tmp_path):
    _, _, data = tiny_archive
    dest = tmp_path / "x.tar.bz2"
    (tmp_path / "x.tar.bz2.part").write_bytes(data)
    with _Server(data) as server:
        ljspeech.download(server.url, dest, expected_size=len(data), progress=False)  # server answers 416
        assert dest.read_bytes() == data
        with pytest.raises(ljspeech.DownloadError, match="resume"):
            ljspeech.download(server.url, tmp_path / "y.tar.bz2", expected_size=len(data) + 10, progress=False)


def test_offline_gives_a_clear_message(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ljspeech.DownloadError, match=r"(?s)offline.*Target:"):
        ljspeech.download(f"http://127.0.0.1:{port}/LJSpeech-1.1.tar.bz2", tmp_path / "x.tar.bz2", progress=False, timeout=5)


def test_checksum_mismatch_removes_the_file(tiny_archive, tmp_path):
    src, sha, _ = tiny_archive
    with pytest.raises(ljspeech.DownloadError, match="does not match"):
        ljspeech.prepare_ljspeech(tmp_path / "LJ", url=src.as_uri(), sha256="0" * 64, expected_size=None, expected_utterances=3, progress=False)
    assert not (tmp_path / "LJSpeech-1.1.tar.bz2").exists()
    assert not (tmp_path / "LJ").exists()


def test_extract_refuses_paths_outside_and_corrupt_archives(tmp_path):
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    with pytest.raises(ljspeech.DownloadError, match="outside"):
        ljspeech.extract(evil, tmp_path / "out", progress=False)
    assert not (tmp_path / "escaped.txt").exists()
    broken = tmp_path / "broken.tar.bz2"
    broken.write_bytes(b"BZh9" + b"\x00" * 100)
    with pytest.raises(ljspeech.DownloadError, match="corrupt"):
        ljspeech.extract(broken, tmp_path / "out2", progress=False)


def test_verify_corpus_reports_missing_wavs(tiny_archive, tmp_path):
    src, sha, _ = tiny_archive
    root = ljspeech.prepare_ljspeech(tmp_path / "LJ", url=src.as_uri(), sha256=sha, expected_size=None, expected_utterances=3, progress=False)
    (root / "wavs" / "LJ900-0002.wav").unlink()
    with pytest.raises(ljspeech.DownloadError, match="missing"):
        ljspeech.verify_corpus(root)
    with pytest.raises(ljspeech.DownloadError, match="expected 13100"):
        (root / "wavs" / "LJ900-0002.wav").write_bytes(b"")
        ljspeech.verify_corpus(root, ljspeech.N_UTTERANCES)


def test_official_constants():
    assert ljspeech.URL == "https://data.keithito.com/data/speech/LJSpeech-1.1.tar.bz2"
    assert re.fullmatch(r"[0-9a-f]{64}", ljspeech.SHA256)


def test_prepare_can_drop_the_archive(tiny_archive, tmp_path):
    src, sha, _ = tiny_archive
    root = ljspeech.prepare_ljspeech(
        tmp_path / "LJ", url=src.as_uri(), sha256=sha, expected_size=None, expected_utterances=3, keep_archive=False, progress=False
    )
    assert (root / "metadata.csv").is_file() and not (tmp_path / "LJSpeech-1.1.tar.bz2").exists()
    assert not (tmp_path / "LJ.partial").exists()


# ---- nothing lost (issue 16) -----------------------------------------------------------------------


def _prepare(src, sha, root, **kw):
    kw.setdefault("expected_size", None)
    return ljspeech.prepare_ljspeech(root, url=src.as_uri(), sha256=sha, expected_utterances=3, progress=False, **kw)


def test_prepare_refuses_a_folder_it_did_not_make_and_deletes_nothing(tiny_archive, tmp_path):
    src, sha, _ = tiny_archive
    root = tmp_path / "mine"
    (root / "wavs").mkdir(parents=True)
    (root / "notes.txt").write_text("precious")
    (root / "wavs" / "take1.wav").write_bytes(b"my recording")
    before = _tree_bytes(root)
    with pytest.raises(ljspeech.ForeignFolderError) as err:
        _prepare(src, sha, root)
    msg = str(err.value)
    assert "\n" not in msg and str(root) in msg
    assert _tree_bytes(root) == before
    assert not (tmp_path / "LJSpeech-1.1.tar.bz2").exists(), "refused before downloading 2.6 GB"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "src"], "no .partial or other folder left"


def test_extract_alone_refuses_a_foreign_destination(tiny_archive, tmp_path):
    src, _, _ = tiny_archive
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "keep.txt").write_text("x")
    with pytest.raises(ljspeech.ForeignFolderError, match="dest"):
        ljspeech.extract(src, dest, progress=False)
    assert (dest / "keep.txt").read_text() == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dest", "src"]


def test_prepare_into_an_empty_folder_marks_it_and_a_damaged_tacolib_corpus_is_replaced(tiny_archive, tmp_path):
    src, sha, _ = tiny_archive
    root = tmp_path / "LJ"
    root.mkdir()  # an empty folder is fine
    _prepare(src, sha, root)
    assert ljspeech.verify_corpus(root, 3) == 3 and (root / ljspeech.MARKER).is_file()
    (root / "wavs" / "LJ900-0002.wav").unlink()  # damaged: prepared again in its place
    _prepare(src, sha, root)
    assert ljspeech.verify_corpus(root, 3) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["LJ", "LJSpeech-1.1.tar.bz2", "src"]


def test_prepare_refuses_a_file_as_root(tiny_archive, tmp_path):
    src, sha, _ = tiny_archive
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ljspeech.ForeignFolderError, match="afile.*not a folder"):
        _prepare(src, sha, tmp_path / "afile")
    with pytest.raises(ljspeech.ForeignFolderError, match="afile is a file, not a folder"):
        _prepare(src, sha, tmp_path / "afile" / "LJ")
    assert (tmp_path / "afile").read_text() == "x"


def test_a_refused_archive_leaves_no_partial_folder(tmp_path):
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        for name in ("ok.txt", "../escaped.txt"):
            info = tarfile.TarInfo(name)
            info.size = 3
            tar.addfile(info, io.BytesIO(b"bad"))
    with pytest.raises(ljspeech.DownloadError, match="outside"):
        ljspeech.extract(evil, tmp_path / "out", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tar.gz"]


def test_the_users_own_archive_is_never_deleted(tiny_archive, tmp_path):
    """--url file://X where X is where the download would be saved: a bad checksum keeps X."""
    src, sha, data = tiny_archive
    archive = tmp_path / "LJSpeech-1.1.tar.bz2"
    archive.write_bytes(data)
    with pytest.raises(ljspeech.DownloadError, match="does not match") as err:
        ljspeech.prepare_ljspeech(tmp_path / "LJ", url=archive.as_uri(), sha256="0" * 64, expected_size=None, expected_utterances=3, progress=False)
    assert archive.read_bytes() == data and "\n" not in str(err.value)
    assert "removed" not in str(err.value)
    # and keep_archive=False does not delete the user's source either
    _prepare(archive, sha, tmp_path / "LJ", keep_archive=False)
    assert archive.read_bytes() == data


def test_a_downloaded_copy_with_a_bad_checksum_is_still_removed(tiny_archive, tmp_path):
    src, _, _ = tiny_archive
    with pytest.raises(ljspeech.DownloadError, match="removed"):
        ljspeech.prepare_ljspeech(tmp_path / "LJ", url=src.as_uri(), sha256="0" * 64, expected_size=None, expected_utterances=3, progress=False)
    assert src.is_file() and not (tmp_path / "LJSpeech-1.1.tar.bz2").exists()


def test_metadata_with_old_mac_line_endings_reads_as_before_and_a_bom_is_dropped(tmp_path):
    (tmp_path / "metadata.csv").write_bytes(b"\xef\xbb\xbfa|one|one\rb|two|two\r\nc|three|three\n")
    assert [u.id for u in read_metadata(tmp_path)] == ["a", "b", "c"]


def test_non_utf8_metadata_names_the_file_and_line(tmp_path):
    (tmp_path / "metadata.csv").write_bytes("a|one|one\nb|caf\xe9|cafe\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"metadata.csv:2: not UTF-8") as err:
        read_metadata(tmp_path)
    assert "\n" not in str(err.value)
    (tmp_path / "metadata.csv").write_text("a|one|one\n")
    (tmp_path / "test.txt").write_bytes(b"a\n\xff\n")
    with pytest.raises(ValueError, match=r"test.txt:2: not UTF-8"):
        read_test_ids(tmp_path)


def test_tinyspeech_refuses_a_foreign_folder_or_a_file_in_one_line(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / ".build.json").write_text("my own build notes")  # a file of that name is not enough
    (foreign / "metadata.csv").write_text("x|y|z\n")
    before = _tree_bytes(foreign)
    with pytest.raises(tinyspeech.ForeignFolderError) as err:
        tinyspeech.build("fast", root=foreign, progress=False)
    assert "\n" not in str(err.value) and str(foreign) in str(err.value)
    assert _tree_bytes(foreign) == before
    (tmp_path / "afile").write_text("x")
    with pytest.raises(tinyspeech.ForeignFolderError, match="not a folder"):
        tinyspeech.build("fast", root=tmp_path / "afile", progress=False)
