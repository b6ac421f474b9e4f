"""Vocoders: from a (mel) spectrogram back to a waveform.

``griffin_lim``  phase reconstruction by alternating projections (notebook 10);
``wavenet``      an autoregressive neural vocoder conditioned on the mel (notebook 11).
"""

from tacolib.vocoder.griffin_lim import griffin_lim, mel_to_audio, mel_to_magnitude, spectral_convergence

__all__ = ["griffin_lim", "mel_to_audio", "mel_to_magnitude", "spectral_convergence"]
