"""Mel-cepstral distortion after dynamic time warping (MCD-DTW): how far one
utterance's spectral envelope is from another's, in dB.

The objective distance TTS papers report next to listening tests (Kubichek 1993).
The course's setup, from the scaled mels it already has::

    scaled mel (T, n_mels) ─denormalize─► dB ─× ln(10)/20─► ln amplitude per mel band
        ─DCT-II over the bands─► cepstrum c_0 .. c_{n_mels-1} per frame, scaled so that
          ln A[band n] = c_0 + 2 Σ_m c_m cos(π m (2n + 1) / (2 n_mels))   (a cosine series)
        keep c_1 .. c_D  (D = 13; c_0 is the frame's loudness, excluded)
    the two utterances' cepstra ─DTW (Euclidean cost)─► a path of frame pairs (i, j)
    MCD = mean over the path of (10 / ln 10) · sqrt(2 · Σ_{d=1..D} (c_d[i] - c'_d[j])²)   [dB]

Two recordings of one sentence never have the same timing, so frames are paired by
DTW before they are compared: MCD-DTW measures *what* is said, not *when*. The whole
of both utterances is aligned, so babbling past the end costs. With cepstra of the
cosine series above, ``sqrt(2 Σ Δc_m²)`` is the RMS difference of the two log-mel
envelopes (Parseval), so the values sit on the scale papers report (a few dB), but
they are comparable within the course only: papers use SPTK's warped mel-cepstra of
order 24-34 from the FFT spectrum, which give other values for the same audio. Read a value
against its floor: ``tacolib evaluate --mcd`` reports the MCD of Griffin-Lim applied to
the recording's own mel (what the vocoder and re-analysis alone cost).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from tacolib.audio import denormalize
from tacolib.config import AudioConfig

__all__ = ["N_CEPSTRA", "mel_cepstrum", "dtw_path", "cepstral_distortion", "mcd_dtw", "MCD_CONSTANT"]

#: Cepstral coefficients compared (c_1 .. c_13), the usual MFCC order.
N_CEPSTRA = 13
#: ``10 / ln 10 · sqrt(2)``: from the cepstral distance to dB (Kubichek 1993).
MCD_CONSTANT = 10.0 / math.log(10.0) * math.sqrt(2.0)


def _dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II matrix ``(n, n)``: ``C @ x`` is ``scipy.fft.dct(x, norm="ortho")``."""
    k = np.arange(n)[:, None]
    m = np.arange(n)[None, :]
    c = np.cos(np.pi * k * (2 * m + 1) / (2 * n)) * np.sqrt(2.0 / n)
    c[0] /= np.sqrt(2.0)
    return c


def mel_cepstrum(mel: torch.Tensor | np.ndarray, cfg: AudioConfig, n_cepstra: int = N_CEPSTRA) -> np.ndarray:
    """Scaled mel ``(T, n_mels)`` -> cepstra ``(T, n_cepstra)``: ``c_1 .. c_D`` of each frame.

    The DCT-II of the natural log of the mel amplitude, as cosine-series coefficients
    (the orthonormal DCT divided by ``sqrt(2 n_mels)``), ``c_0`` dropped.

    Raises
    ------
    ValueError
        Not a ``(T, n_mels)`` array with ``T >= 1``, or ``n_cepstra`` not in ``[1, n_mels)``.
    """
    mel = torch.as_tensor(mel, dtype=torch.float32)
    if mel.dim() != 2 or mel.shape[0] < 1 or mel.shape[1] != cfg.n_mels:
        raise ValueError(f"mel_cepstrum: expected a (T, {cfg.n_mels}) mel with T >= 1, got shape {tuple(mel.shape)}")
    if not 1 <= n_cepstra < cfg.n_mels:
        raise ValueError(f"mel_cepstrum: n_cepstra must be in [1, {cfg.n_mels}), got {n_cepstra}")
    log_amp = denormalize(mel, cfg).double().numpy() * (math.log(10.0) / 20.0)  # (T, n_mels): dB -> ln amplitude
    return log_amp @ _dct_matrix(cfg.n_mels)[1 : n_cepstra + 1].T / math.sqrt(2.0 * cfg.n_mels)  # (T, D)


def dtw_path(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Frame pairs ``(P, 2)`` of the cheapest monotonic alignment of ``a (T_a, D)`` and ``b (T_b, D)``
    (Euclidean cost, steps (1,1), (1,0), (0,1); ``librosa.sequence.dtw``), from ``(0, 0)`` to the last frames."""
    import librosa

    _, wp = librosa.sequence.dtw(X=np.ascontiguousarray(a.T), Y=np.ascontiguousarray(b.T), metric="euclidean")
    return wp[::-1].copy()  # librosa returns it end first


def cepstral_distortion(c: np.ndarray, c_ref: np.ndarray) -> float:
    """Kubichek's distortion of paired frames, in dB: the mean over the ``P`` pairs of
    ``(10 / ln 10) · sqrt(2 · Σ_d (c_d - c_ref_d)²)``.

    Parameters
    ----------
    c, c_ref : array
        ``(P, D)`` cepstra, row ``p`` of one paired with row ``p`` of the other.
    """
    diff = np.asarray(c, dtype=np.float64) - np.asarray(c_ref, dtype=np.float64)  # (P, D)
    return float(MCD_CONSTANT * np.sqrt((diff**2).sum(axis=1)).mean())


def mcd_dtw(mel: torch.Tensor | np.ndarray, reference: torch.Tensor | np.ndarray, cfg: AudioConfig,
            n_cepstra: int = N_CEPSTRA) -> float:
    """MCD-DTW between two scaled mels (see the module docstring), in dB.

    Parameters
    ----------
    mel, reference : tensor or array
        ``(T_a, n_mels)`` and ``(T_b, n_mels)`` scaled mels; lengths may differ.
    cfg : AudioConfig
        Their scaling (to undo it).
    n_cepstra : int
        ``D``: coefficients ``c_1 .. c_D`` compared.

    Returns
    -------
    float
        0 for identical mels; grows with spectral difference.
    """
    a = mel_cepstrum(mel, cfg, n_cepstra)  # (T_a, D)
    b = mel_cepstrum(reference, cfg, n_cepstra)  # (T_b, D)
    path = dtw_path(a, b)  # (P, 2)
    return cepstral_distortion(a[path[:, 0]], b[path[:, 1]])
