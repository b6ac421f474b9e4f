"""Vocoders: from a (mel) spectrogram back to a waveform.

``griffin_lim``        phase reconstruction by alternating projections (notebook 10; the
                       module, not re-exported here, so that the name stays the module);
``wavenet``            an autoregressive neural vocoder conditioned on the mel (notebook 11);
``wavenet_generate``   its naive and cached (fast) sample-by-sample generation;
``wavenet_train``      its training, on ground-truth or Tacotron 2's predicted mels;
``mulaw``              μ-law companding (256 classes for WaveNet's softmax).

The vocoder objects share one interface, ``generate(mel) -> wav`` (a scaled mel
``(T_frames, n_mels)`` in, a waveform in [-1, 1] out), which
:func:`tacolib.synthesize.synthesize` takes: ``GriffinLimVocoder`` (in ``griffin_lim``)
and ``WaveNetVocoder`` (in ``wavenet_generate``).
"""

from tacolib.vocoder.griffin_lim import GriffinLimVocoder, mel_to_audio, mel_to_magnitude, spectral_convergence
from tacolib.vocoder.mulaw import mu_law_decode, mu_law_encode
from tacolib.vocoder.wavenet import WaveNet, WaveNetConfig, load_wavenet, save_wavenet
from tacolib.vocoder.wavenet_generate import CachedWaveNet, WaveNetVocoder, generate
from tacolib.vocoder.wavenet_train import predicted_mels, train_wavenet

__all__ = [
    "GriffinLimVocoder",
    "WaveNetVocoder",
    "mel_to_audio",
    "mel_to_magnitude",
    "spectral_convergence",
    "mu_law_encode",
    "mu_law_decode",
    "WaveNet",
    "WaveNetConfig",
    "train_wavenet",
    "predicted_mels",
    "save_wavenet",
    "load_wavenet",
    "generate",
    "CachedWaveNet",
]
