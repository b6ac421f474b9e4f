"""Checks for notebooks 10 (Griffin-Lim) and 11 (WaveNet)."""

from __future__ import annotations

import torch

from tacolib.checks.core import CheckFailed, assert_close, exercise
from tacolib.vocoder.mulaw import mu_law_encode
from tacolib.vocoder.wavenet import receptive_field

NB_GL = "10_griffin_lim"
NB_WAVENET = "11_wavenet"


# ---- notebook 10 ------------------------------------------------------------------------


def _ref_griffin_lim_step(magnitude: torch.Tensor, angles: torch.Tensor, n_fft: int, hop_length: int):
    """One Griffin-Lim iteration (no momentum).

    ``magnitude`` ``(F, T)`` real, ``angles`` ``(F, T)`` complex of modulus 1 ->
    ``(wav (T - 1) * hop_length,), new_angles (F, T)`` complex of modulus 1.
    """
    window = torch.hann_window(n_fft)
    length = (magnitude.shape[-1] - 1) * hop_length
    wav = torch.istft(magnitude * angles, n_fft, hop_length, window=window, length=length)  # impose |S|
    rebuilt = torch.stft(wav, n_fft, hop_length, window=window, return_complex=True)  # a consistent STFT
    return wav, rebuilt / (rebuilt.abs() + 1e-8)  # keep its phase only


def _gl_cases():
    g = torch.Generator().manual_seed(10)
    cases = []
    for n_fft, hop, T in [(64, 16, 12), (256, 64, 20)]:
        mag = torch.rand(n_fft // 2 + 1, T, generator=g) + 0.1
        phase = 2 * torch.pi * torch.rand(mag.shape, generator=g)
        cases.append(((mag, torch.polar(torch.ones_like(mag), phase), n_fft, hop), {}))
    return cases


def _compare_gl(got, expected, where):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise CheckFailed(f"{where}: return a tuple (wav, new_angles), got {type(got).__name__}")
    wav, ang = got
    assert_close(wav, expected[0], f"{where}, wav", atol=1e-4, rtol=1e-3)
    if not isinstance(ang, torch.Tensor) or not ang.is_complex():
        raise CheckFailed(f"{where}, new_angles: expected a complex tensor (rebuilt / |rebuilt|), got {getattr(ang, 'dtype', type(ang).__name__)}")
    assert_close(torch.view_as_real(ang.to(torch.complex64)), torch.view_as_real(expected[1]), f"{where}, new_angles (real, imag)", atol=1e-3, rtol=1e-3)


check_griffin_lim_step = exercise("griffin_lim_step", NB_GL, _ref_griffin_lim_step, _gl_cases, compare=_compare_gl)


def _ref_spectral_conv(S: torch.Tensor, S_hat: torch.Tensor) -> float:
    """``||S - S_hat||_F / ||S||_F`` as a float."""
    return float(torch.linalg.norm(S - S_hat) / torch.linalg.norm(S))


def _sc_cases():
    g = torch.Generator().manual_seed(11)
    S = torch.rand(33, 10, generator=g)
    return [((S, S * 0.9), {}), ((S, torch.rand(33, 10, generator=g)), {}), ((S, S), {})]


check_spectral_conv = exercise("spectral_conv", NB_GL, _ref_spectral_conv, _sc_cases, atol=1e-5, rtol=1e-4)


# ---- notebook 11 ------------------------------------------------------------------------


def _ref_mu_law_encode(x: torch.Tensor, mu: int) -> torch.Tensor:
    """``[-1, 1]`` floats -> int64 classes ``floor((f(x) + 1) / 2 * mu + 0.5)``."""
    return mu_law_encode(x, mu)


def _mu_cases():
    g = torch.Generator().manual_seed(12)
    return [
        ((torch.linspace(-1, 1, 101), 255), {}),
        ((0.3 * torch.randn(500, generator=g).clamp(-3, 3), 255), {}),
        ((torch.linspace(-1, 1, 33), 15), {}),
    ]


check_mu_law_encode = exercise("mu_law_encode", NB_WAVENET, _ref_mu_law_encode, _mu_cases, atol=0, rtol=0)


def _ref_wavenet_receptive_field(kernel_size: int, dilations: list) -> int:
    """Samples seen by a stack of causal convolutions: ``1 + (k - 1) * sum(dilations)``."""
    return receptive_field(kernel_size, dilations)


check_wavenet_receptive_field = exercise(
    "wavenet_receptive_field",
    NB_WAVENET,
    _ref_wavenet_receptive_field,
    lambda: [((2, [1, 2, 4, 8]), {}), ((2, [1, 2, 4, 8, 16, 32, 64, 128] * 2), {}), ((3, [1, 2, 4, 8, 16] * 3), {}), ((2, [1] * 5), {})],
    atol=0,
    rtol=0,
)
