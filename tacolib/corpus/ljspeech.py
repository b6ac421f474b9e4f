"""LJSpeech 1.1: download, verify, extract (Ito and Johnson, 2017; public domain).

13,100 clips (about 24 hours) of one speaker reading non-fiction, 22,050 Hz mono,
2.6 GB compressed. The course trains on TinySpeech by default; LJSpeech is for
people with a GPU and an afternoon (``tacolib prepare ljspeech`` drives
:func:`prepare_ljspeech`).

Steps, each usable on its own:

:func:`download`
    HTTP(S) or ``file://`` to ``<dest>.part`` with a tqdm bar; a partial file is resumed
    with an HTTP ``Range`` request; a clear :class:`DownloadError` when offline.
:func:`sha256sum` / :func:`verify_checksum`
    The archive must hash to the published SHA-256. A mismatching archive that this
    run downloaded is removed; one that was already there (your own file, e.g. the
    one a ``file://`` URL names) is reported and kept.
:func:`extract`
    Streams the tar archive (sequential ``r|*`` reading is many times faster than
    seeking in a 2.6 GB bz2) into a fresh hidden sibling folder, refuses members that
    would land outside it, marks the result (:data:`tacolib.corpus.MARKER`) and moves
    it into place only when complete. A refused or broken archive leaves nothing behind.
:func:`verify_corpus`
    ``metadata.csv`` parses and every listed wav exists.

Nothing of yours is deleted: a destination that is a file, or a non-empty folder
without tacolib's marker, is refused before anything is downloaded
(:class:`tacolib.corpus.ForeignFolderError`); only a corpus folder tacolib itself made
is replaced when it fails verification.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tacolib.corpus import MARKER, ForeignFolderError, check_destination, logger, read_metadata, remove_leftovers, working_folder, write_marker
from tacolib.safe_io import OutputError, as_output_error, check_output_folder

__all__ = [
    "URL",
    "SHA256",
    "SIZE",
    "N_UTTERANCES",
    "MARKER",
    "DownloadError",
    "ForeignFolderError",
    "download",
    "sha256sum",
    "verify_checksum",
    "extract",
    "verify_corpus",
    "prepare_ljspeech",
]

URL = "https://data.keithito.com/data/speech/LJSpeech-1.1.tar.bz2"
SHA256 = "be1a30453f28eb8dd26af4101ae40cbf2c50413b1bb21936cbcdc6fae3de8aa5"
SIZE = 2_748_572_632  # bytes
N_UTTERANCES = 13_100
ARCHIVE_FOLDER = "LJSpeech-1.1"  # the archive's top-level folder


class DownloadError(RuntimeError):
    """A download that could not complete: offline, HTTP error, or wrong checksum."""


def _open(url: str, offset: int, timeout: float):
    """Open ``url`` from byte ``offset``. Returns ``(stream, resumed, total_size_or_None)``."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        path = Path(urllib.request.url2pathname(parsed.path))
        if not path.is_file():
            raise DownloadError(f"{url}: no such file")
        f = open(path, "rb")
        f.seek(offset)
        return f, offset > 0, path.stat().st_size
    req = urllib.request.Request(url, headers={"User-Agent": "tacolib"})
    if offset:
        req.add_header("Range", f"bytes={offset}-")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        e.close()
        if e.code == 416 and offset:  # range not satisfiable: the part file is already whole
            return None, True, offset
        raise DownloadError(f"{url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise DownloadError(
            f"cannot reach {parsed.netloc or url} ({reason}). Are you offline? "
            f"Download {url} some other way and save it as the target named next, or retry later."
        ) from None
    resumed = offset > 0 and resp.status == 206
    length = resp.headers.get("Content-Length")
    total = (int(length) + (offset if resumed else 0)) if length is not None else None
    return resp, resumed, total


def download(
    url: str,
    dest: str | Path,
    expected_size: int | None = None,
    progress: bool = True,
    timeout: float = 30.0,
    chunk_size: int = 1 << 20,
) -> Path:
    """Download ``url`` to ``dest``, resuming a partial ``<dest>.part``.

    Parameters
    ----------
    url : str
        ``http(s)://`` or ``file://``.
    dest : str or Path
        Final file. Bytes go to ``<dest>.part`` first; it is renamed when complete.
    expected_size : int, optional
        Bytes; a complete download of another size raises.
    progress : bool
        tqdm bar in bytes.
    timeout : float
        Seconds to wait for the server.

    Returns
    -------
    Path
        ``dest``. An existing ``dest`` is returned as is (verify it with
        :func:`verify_checksum`).

    Raises
    ------
    DownloadError
        Offline or unreachable host (the message says so and where the file goes),
        an HTTP error, or a size mismatch.
    tacolib.safe_io.OutputError
        No space left or an unwritable destination (one line naming it).
    """
    from tqdm.auto import tqdm

    dest = Path(dest)
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.is_file() else 0
    try:
        stream, resumed, total = _open(url, offset, timeout)
    except DownloadError as e:
        raise DownloadError(f"{e} Target: {dest} (a partial {part.name} is resumed).") from None
    if stream is None:  # server says the part file is already complete
        os.replace(part, dest)
        return dest
    if offset and not resumed:
        logger.info("%s: the server ignored the range request; starting over", url)
        offset = 0
    total = total or expected_size
    mode = "ab" if offset else "wb"
    try:
        with stream, open(part, mode) as out, tqdm(
            total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024, desc=dest.name, disable=not progress
        ) as bar:
            while True:
                try:
                    buf = stream.read(chunk_size)
                except (OSError, urllib.error.URLError) as e:
                    raise DownloadError(f"download of {url} interrupted ({e}); run again to resume from {part}") from None
                if not buf:
                    break
                out.write(buf)
                bar.update(len(buf))
    except OSError as e:  # writing: no space, read-only
        full = as_output_error(e, part)
        if full is None:
            raise
        raise OutputError(full.errno, f"{full}; the partial download {part.name} is resumed next time") from None
    size = part.stat().st_size
    if expected_size is not None and size != expected_size:
        if size > expected_size:
            part.unlink()
            raise DownloadError(f"{url}: got {size} bytes, more than the expected {expected_size}; removed {part}, run again")
        raise DownloadError(f"{url}: stopped at {size} of {expected_size} bytes; run again to resume from {part}")
    os.replace(part, dest)
    return dest


def sha256sum(path: str | Path, progress: bool = False, chunk_size: int = 8 << 20) -> str:
    """SHA-256 of a file, hex."""
    from tqdm.auto import tqdm

    path = Path(path)
    h = hashlib.sha256()
    with open(path, "rb") as f, tqdm(
        total=path.stat().st_size, unit="B", unit_scale=True, desc=f"sha256 {path.name}", disable=not progress
    ) as bar:
        while buf := f.read(chunk_size):
            h.update(buf)
            bar.update(len(buf))
    return h.hexdigest()


def verify_checksum(path: str | Path, sha256: str, progress: bool = False, remove_bad: bool = True) -> None:
    """Raise :class:`DownloadError` when ``path`` does not hash to ``sha256``.

    With ``remove_bad`` the bad file is deleted so that the next attempt downloads it
    again: pass it only for a file tacolib itself downloaded (:func:`prepare_ljspeech`
    does), never for one the user supplied.
    """
    got = sha256sum(path, progress=progress)
    if got != sha256.lower():
        if remove_bad:
            Path(path).unlink()
            fix = "; the download was removed, run again to download it afresh"
        else:
            fix = "; the file was kept (tacolib did not download it in this run): use the official archive, or delete this one and run again"
        raise DownloadError(f"{path}: SHA-256 {got} does not match the published {sha256}{fix}")


def _safe_members(tar: tarfile.TarFile, dest: Path):
    dest = dest.resolve()
    for m in tar:
        target = (dest / m.name).resolve()
        if not str(target).startswith(str(dest) + os.sep) and target != dest:
            raise DownloadError(f"archive member {m.name!r} would be written outside {dest}; refusing to extract")
        if m.issym() or m.islnk() or m.isdev():
            logger.warning("skipped link or device %r in the archive", m.name)
            continue
        yield m


def extract(archive: str | Path, dest: str | Path, progress: bool = True) -> Path:
    """Extract a (compressed) tar archive into the folder ``dest``.

    Everything goes to a fresh hidden sibling first (``.<dest>.<random>.partial``,
    :func:`tacolib.corpus.folders.working_folder`); the result is marked as tacolib's
    (:data:`MARKER`) and moved to ``dest`` at the end. An
    archive whose contents sit in one top-level folder (LJSpeech's ``LJSpeech-1.1/``)
    has that folder's contents placed directly in ``dest``. ``dest`` may be absent, an
    empty folder, or a corpus folder tacolib made (it is then replaced).

    Raises
    ------
    ForeignFolderError
        ``dest`` is a file or a non-empty folder tacolib did not make, or files appeared
        in it while extracting (untouched).
    DownloadError
        The archive is corrupt or has members outside the target folder; nothing is
        left behind.
    tacolib.safe_io.OutputError
        No space left or an unwritable destination; nothing is left behind.
    """
    from tqdm.auto import tqdm

    archive, dest = Path(archive), Path(dest)
    replace = check_destination(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with working_folder(dest) as work:  # removed at the end, whatever happens; a kill -9: remove_leftovers
        files = work / "files"
        files.mkdir()
        try:
            with tarfile.open(archive, "r|*") as tar, tqdm(desc=f"extract {archive.name}", unit=" files", disable=not progress) as bar:
                for m in _safe_members(tar, files):
                    if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: also refuse unsafe modes
                        tar.extract(m, files, set_attrs=False, filter="data")
                    else:  # pragma: no cover
                        tar.extract(m, files, set_attrs=False)
                    bar.update(1)
        except (tarfile.TarError, EOFError, OSError) as e:
            full = as_output_error(e, dest)  # no space, read-only: say so, not "corrupt"
            if full is not None:
                raise full from None
            raise DownloadError(f"{archive}: corrupt or unreadable archive ({e}); delete it and run again") from None
        entries = list(files.iterdir())
        content = entries[0] if len(entries) == 1 and entries[0].is_dir() else files
        write_marker(content, corpus="extracted", archive=archive.name)
        previous = work / "previous"
        if replace:  # tacolib's own corpus: set aside, removed with the working folder
            os.replace(dest, previous)
        try:
            os.replace(content, dest)  # dest is absent or an empty folder: one atomic rename
        except OSError as e:
            if previous.exists() and not dest.exists():
                os.replace(previous, dest)  # put the old corpus back
            if e.errno in (errno.ENOTEMPTY, errno.EEXIST):
                raise ForeignFolderError(f"files appeared in {dest} while extracting: they are kept and nothing was replaced; "
                                         "choose an empty or new folder for the corpus") from None
            raise
    return dest


def verify_corpus(root: str | Path, expected_utterances: int | None = None) -> int:
    """Check an extracted corpus: ``metadata.csv`` parses, every listed wav exists, and
    (when given) the count is ``expected_utterances``. Returns the number of utterances.

    Raises
    ------
    DownloadError
        Missing wavs or a wrong count (the message names a few).
    """
    utts = read_metadata(root)
    missing = [u.id for u in utts if not u.wav.is_file()]
    if missing:
        raise DownloadError(f"{root}: {len(missing)} wav file(s) listed in metadata.csv are missing, e.g. {missing[:3]}")
    if expected_utterances is not None and len(utts) != expected_utterances:
        raise DownloadError(f"{root}: {len(utts)} utterances in metadata.csv, expected {expected_utterances}")
    return len(utts)


def prepare_ljspeech(
    root: str | Path | None = None,
    url: str = URL,
    sha256: str | None = SHA256,
    expected_size: int | None = SIZE,
    expected_utterances: int | None = N_UTTERANCES,
    keep_archive: bool = True,
    progress: bool = True,
) -> Path:
    """Download, verify and extract LJSpeech 1.1; return the corpus folder.

    Parameters
    ----------
    root : str or Path, optional
        The corpus folder to create (``metadata.csv`` and ``wavs/`` end up directly in
        it); default ``data_dir()/"LJSpeech-1.1"``, where ``data.corpus=ljspeech``
        looks. The archive is downloaded beside it.
    url, sha256, expected_size, expected_utterances
        The official release by default; tests pass a small local archive.
        ``sha256=None`` skips the checksum.
    keep_archive : bool
        Keep the 2.6 GB archive after a successful extraction (False removes it only
        when this call downloaded it).
    progress : bool
        Progress bars for download, checksum and extraction.

    Returns
    -------
    Path
        ``root``. A folder that already verifies is returned without downloading.

    Raises
    ------
    ForeignFolderError
        ``root`` is a file or a non-empty folder tacolib did not make (checked before
        downloading; nothing is touched).
    DownloadError
        Offline, HTTP error, wrong size or checksum, corrupt archive, missing wavs.
    """
    from tacolib.runtime import data_dir

    root = Path(root) if root is not None else data_dir() / ARCHIVE_FOLDER
    remove_leftovers(root)  # working folders of an extraction that was killed
    if (root / "metadata.csv").is_file():
        try:
            verify_corpus(root, expected_utterances)
            return root
        except (DownloadError, ValueError) as e:
            logger.warning("%s is incomplete (%s); preparing it again", root, e)
    check_destination(root)  # a foreign folder is refused before 2.6 GB are downloaded
    check_output_folder(root.parent)  # read-only, forbidden, full or below a file: one line, before downloading
    name = Path(urllib.parse.urlparse(url).path).name or "LJSpeech-1.1.tar.bz2"
    archive = root.parent / name
    downloaded = not archive.exists()  # else: the user's own file (or an earlier run's), never deleted
    download(url, archive, expected_size=expected_size, progress=progress)
    if sha256:
        verify_checksum(archive, sha256, progress=progress, remove_bad=downloaded)
    extract(archive, root, progress=progress)
    verify_corpus(root, expected_utterances)
    if not keep_archive and downloaded:
        archive.unlink()
    return root
