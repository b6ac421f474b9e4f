"""Checks for notebook 10 (Griffin-Lim): one iteration, and the loop with momentum.

``_fast_gl`` is fast Griffin-Lim written once more with knobs (at its defaults it is
:func:`tacolib.vocoder.griffin_lim`, ``tests/test_exercises.py`` proves it); each
known-wrong variant turns one knob to a learner's likely mistake.
"""

from __future__ import annotations

import torch

from tacolib.checks.core import CheckFailed, assert_close, exercise, mistake
from tacolib.config import AudioConfig
from tacolib.vocoder.griffin_lim import griffin_lim

NB_GL = "10_griffin_lim"


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


def _fast_gl(magnitude, angles, n_fft, hop_length, n_iter, momentum, sign=-1.0, coefficient="alpha", on="rebuilt",
             remember="rebuilt", project=True, impose=True, last="final"):
    """Fast Griffin-Lim written out with knobs; at the defaults it is ``tacolib.vocoder.griffin_lim`` with ``init=angles``."""
    window = torch.hann_window(n_fft)
    length = (magnitude.shape[-1] - 1) * hop_length
    alpha = momentum / (1.0 + momentum) if coefficient == "alpha" else momentum
    X, prev, wav = magnitude * angles, None, None
    for _ in range(n_iter):
        wav = torch.istft(X, n_fft, hop_length, window=window, length=length)  # impose |S|, overlap-add
        rebuilt = torch.stft(wav, n_fft, hop_length, window=window, return_complex=True) if project else X
        current = rebuilt if on == "rebuilt" else rebuilt / (rebuilt.abs() + 1e-8)
        t = current if prev is None else current + sign * alpha * prev  # the momentum step
        prev = current if remember == "rebuilt" else t
        X = magnitude * t / (t.abs() + 1e-8) if impose else t
    return torch.istft(X, n_fft, hop_length, window=window, length=length) if last == "final" else wav


def _ref_fast_griffin_lim(magnitude, angles, n_fft, hop_length, n_iter, momentum):
    """``n_iter`` iterations of fast Griffin-Lim from the phases ``angles``; the wav ``((T - 1) * hop_length,)``."""
    cfg = AudioConfig(n_fft=n_fft, hop_length=hop_length, win_length=n_fft)
    return griffin_lim(magnitude, cfg, n_iter=n_iter, momentum=momentum, init=angles)


def _fgl_cases():
    g = torch.Generator().manual_seed(13)
    cases = []
    for n_fft, hop, n_iter, momentum, start in [(64, 16, 8, 0.99, "random"), (128, 32, 6, 0.5, "zeros"), (64, 16, 5, 0.0, "random")]:
        t = torch.arange(40 * hop) / 4000.0
        sig = torch.sin(2 * torch.pi * (300 + 900 * t) * t) + 0.5 * torch.sin(2 * torch.pi * 1100 * t) + 0.05 * torch.randn(len(t), generator=g)
        mag = torch.stft(sig, n_fft, hop, window=torch.hann_window(n_fft), return_complex=True).abs()  # (F, 41): a real magnitude
        phase = 2 * torch.pi * torch.rand(mag.shape, generator=g) if start == "random" else torch.zeros(mag.shape)
        cases.append(((mag, torch.polar(torch.ones_like(mag), phase), n_fft, hop, n_iter, momentum), {}))
    return cases


check_fast_griffin_lim = exercise(
    "fast_griffin_lim", NB_GL, _ref_fast_griffin_lim, _fgl_cases, atol=2e-4, rtol=2e-3,
    variants=[
        mistake("the momentum term added instead of subtracted", "t = rebuilt - alpha * previous_rebuilt.", _fast_gl, sign=1.0),
        mistake("the momentum itself as the coefficient", "Use alpha = momentum / (1 + momentum).", _fast_gl, coefficient="momentum"),
        mistake("the momentum applied to the phases (unit-modulus angles), not to the rebuilt STFT",
                "Take the momentum step on the complex STFT of the waveform, rebuilt - alpha * previous rebuilt, then keep its phase.",
                _fast_gl, on="angles"),
        mistake("the momentum-corrected term remembered as 'previous' instead of the rebuilt STFT",
                "The next iteration subtracts alpha times this iteration's rebuilt STFT (before the momentum step).",
                _fast_gl, remember="corrected"),
        mistake("no projection onto consistent spectrograms (the STFT of the waveform is never taken)",
                "Each iteration: wav = istft(S * phase), rebuilt = stft(wav); the new phase comes from rebuilt.",
                _fast_gl, project=False),
        mistake("the magnitude not re-imposed (the momentum term inverted with its own magnitude)",
                "Keep only the phase of the momentum term and multiply it by the target magnitude S.", _fast_gl, impose=False),
        mistake("the waveform of the last iteration returned, one projection behind the final phase",
                "After the loop, return istft(S * final phase).", _fast_gl, last="loop"),
    ],
)
