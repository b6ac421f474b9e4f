"""WaveNet: an autoregressive neural vocoder conditioned on the mel spectrogram.

WaveNet (van den Oord et al. 2016) models a waveform one sample at a time,
``p(x) = prod_t p(x_t | x_<t, mel)``. Tacotron 2 (Shen et al. 2018) uses it to turn
the predicted mel into speech. The boxes, bottom to top::

    previous sample x_{t-1} ──► input embedding (μ-law class) or 1x1 conv (scalar)
        │                                         (B, R, T)  R = residual channels
        ▼
    ┌─ layer l, dilation d (1, 2, 4, ... 2^(n-1), repeated in cycles) ───────────────┐
    │  h = W_cur x_t + W_past x_{t-d} + V_l c_t          causal dilated conv, k = 2    │
    │  z = tanh(h_a) * sigmoid(h_b)                        gated activation unit       │
    │  skip_l = S_l z ;  x <- (x + R_l z) / sqrt(2)        skip and residual           │
    └────────────────────────────────────────────────────────────────────────────────┘
        │ sum of skips
        ▼
    ReLU ─► 1x1 ─► ReLU ─► 1x1 ─► 256 μ-law logits (softmax)   or   3K mixture-of-
                                                                     logistics params

*Causal*: the output at ``t`` sees inputs up to ``t`` only, so the network predicting
``x_t`` from ``x_{<t}`` cannot cheat by looking ahead (``forward`` shifts the audio
right by one sample). *Dilations* doubling per layer make the receptive field grow
exponentially with depth: ``1 + (k - 1) * sum(dilations)`` samples (511 = 23 ms
for the default two cycles of 1..128).

**Conditioning, and why repeat + conv.** The mel ``(B, T_frames, n_mels)`` goes
through a small non-causal conv over frames (kernel 3: each frame also sees its
neighbours), and each frame's features are then *repeated* ``hop_length`` times to
reach the sample rate; every layer adds its own 1x1 projection ``V_l c_t``. The
alternative, a stack of learned transposed convolutions (stride 16 x 16 for hop
256), is what some implementations use; we chose repeat + conv because (1) the mel
is known in full before generation, so the upsampler need not be causal and runs
once; (2) nearest repetition has no checkerboard artefacts (Odena et al. 2016) and
no hop-factorization to tune; (3) the per-layer projections are linear, so they can
be computed once per *frame* and looked up as ``frame = t // hop_length`` during
generation - conditioning then costs nothing per sample, which is what makes the
cached generator fast. The price, a piecewise-constant conditioning signal, is
smoothed by the network's own receptive field and the frame conv.

**Output.** ``output="mulaw"`` (default): a 256-way softmax over μ-law classes, the
original WaveNet's choice, quick to train on CPU. ``output="mol"``: a discretized
mixture of logistics over 16-bit values (Salimans et al. 2017; van den Oord et al.
2018), the output Tacotron 2's WaveNet uses, smoother but slower to learn.

Training (teacher forcing on random segments, on ground-truth or Tacotron 2's own
predicted mels) lives in :mod:`tacolib.vocoder.wavenet_train`; generation, naive
(:func:`generate` with ``method="naive"``, a full forward pass over the receptive field
per sample) and cached (``method="cached"``: per-layer queues, Paine et al. 2016), in
:mod:`tacolib.vocoder.wavenet_generate`, with
:class:`~tacolib.vocoder.wavenet_generate.WaveNetVocoder`, a trained WaveNet as a
vocoder. Both import this module, never the other way round.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from tacolib.vocoder.mulaw import mu_law_decode, mu_law_encode

__all__ = [
    "WaveNetConfig",
    "WaveNet",
    "CausalDilatedLayer",
    "receptive_field",
    "mol_loss",
    "wavenet_loss",
    "align_audio",
    "decode_samples",
    "save_wavenet",
    "load_wavenet",
]


@dataclass
class WaveNetConfig:
    """Sizes of a :class:`WaveNet` (defaults: the course's CPU model, 16 layers x 64).

    Attributes
    ----------
    n_mels, hop_length : int
        Must match the mels it is conditioned on (``AudioConfig``).
    layers, cycles : int
        ``layers`` residual layers with dilations ``1, 2, ..., 2^(layers/cycles - 1)``
        repeated ``cycles`` times (the paper's vocoder: 30 layers in 3 cycles).
    residual_channels, gate_channels, skip_channels, cond_channels : int
        Widths; ``gate_channels`` is split in a tanh half and a sigmoid half.
    output : {"mulaw", "mol"}
        256-way μ-law softmax, or a discretized mixture of ``n_mixtures`` logistics.
    n_classes : int
        μ-law classes (``mu + 1``).
    n_mixtures : int
        Logistic components for ``output="mol"``.
    """

    n_mels: int = 80
    hop_length: int = 256
    layers: int = 16
    cycles: int = 2
    residual_channels: int = 64
    gate_channels: int = 128
    skip_channels: int = 64
    cond_channels: int = 64
    output: str = "mulaw"
    n_classes: int = 256
    n_mixtures: int = 10

    def __post_init__(self):
        if self.output not in ("mulaw", "mol"):
            raise ValueError(f"WaveNetConfig.output must be 'mulaw' or 'mol', got {self.output!r}")
        if self.layers < 1 or self.cycles < 1 or self.layers % self.cycles:
            raise ValueError(f"WaveNetConfig: layers ({self.layers}) must be a positive multiple of cycles ({self.cycles})")
        if self.gate_channels % 2:
            raise ValueError(f"WaveNetConfig.gate_channels must be even (tanh half + sigmoid half), got {self.gate_channels}")

    @property
    def dilations(self) -> list[int]:
        per_cycle = self.layers // self.cycles
        return [2**i for i in range(per_cycle)] * self.cycles

    @property
    def n_out(self) -> int:
        return self.n_classes if self.output == "mulaw" else 3 * self.n_mixtures


def receptive_field(kernel_size: int, dilations) -> int:
    """Samples a stack of causal dilated convolutions sees: ``1 + (k - 1) * sum(d)``."""
    return 1 + (kernel_size - 1) * sum(dilations)


class CausalDilatedLayer(nn.Module):
    """One residual layer: causal dilated conv (k = 2), conditioning, gate, skip, residual.

    Parameters
    ----------
    residual_channels, gate_channels, skip_channels, cond_channels, dilation : int
    has_residual : bool
        The last layer's residual output is never used, so it has none.
    """

    def __init__(self, residual_channels, gate_channels, skip_channels, cond_channels, dilation, has_residual=True):
        super().__init__()
        self.dilation = dilation
        self.half = gate_channels // 2
        self.conv = nn.Conv1d(residual_channels, gate_channels, kernel_size=2, dilation=dilation)
        self.cond = nn.Conv1d(cond_channels, gate_channels, kernel_size=1)  # V_l, applied per frame
        self.skip = nn.Conv1d(self.half, skip_channels, kernel_size=1)
        self.res = nn.Conv1d(self.half, residual_channels, kernel_size=1) if has_residual else None

    def forward(self, x: torch.Tensor, c: torch.Tensor):
        """``x`` ``(B, R, T)``, ``c`` ``(B, gate, T)`` (this layer's conditioning at sample
        rate) -> ``(x_next (B, R, T) or None, skip (B, S, T))``."""
        h = self.conv(F.pad(x, (self.dilation, 0))) + c  # left pad only: causal, (B, gate, T)
        a, b = h.split(self.half, dim=1)
        z = torch.tanh(a) * torch.sigmoid(b)  # (B, gate/2, T) gated activation unit
        x_next = (x + self.res(z)) * math.sqrt(0.5) if self.res is not None else None
        return x_next, self.skip(z)


class WaveNet(nn.Module):
    """A mel-conditioned WaveNet vocoder (see the module docstring for the picture).

    Examples
    --------
    >>> net = WaveNet(WaveNetConfig())
    >>> logits = net(audio, mel)        # audio (B, T_frames * hop), mel (B, T_frames, n_mels)
    >>> loss = wavenet_loss(net, logits, audio)
    """

    def __init__(self, cfg: WaveNetConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or WaveNetConfig()
        if cfg.output == "mulaw":
            self.input = nn.Embedding(cfg.n_classes, cfg.residual_channels)  # previous sample's class
        else:
            self.input = nn.Conv1d(1, cfg.residual_channels, kernel_size=1)  # previous sample's value
        self.cond_net = nn.Conv1d(cfg.n_mels, cfg.cond_channels, kernel_size=3, padding=1, padding_mode="replicate")
        dil = cfg.dilations
        self.layers = nn.ModuleList(
            CausalDilatedLayer(cfg.residual_channels, cfg.gate_channels, cfg.skip_channels, cfg.cond_channels, d, has_residual=i < len(dil) - 1)
            for i, d in enumerate(dil)
        )
        self.head1 = nn.Conv1d(cfg.skip_channels, cfg.skip_channels, kernel_size=1)
        self.head2 = nn.Conv1d(cfg.skip_channels, cfg.n_out, kernel_size=1)

    @property
    def receptive_field(self) -> int:
        return receptive_field(2, self.cfg.dilations)

    @property
    def start_input(self):
        """What the network sees as the sample before the first one: silence."""
        return self.cfg.n_classes // 2 if self.cfg.output == "mulaw" else 0.0

    # ---- pieces -------------------------------------------------------------------
    def condition(self, mel: torch.Tensor) -> torch.Tensor:
        """Scaled mel ``(B, T_frames, n_mels)`` -> frame features ``(B, cond_channels, T_frames)``."""
        if mel.dim() != 3 or mel.shape[-1] != self.cfg.n_mels:
            raise ValueError(f"WaveNet: mel must be (B, T_frames, n_mels={self.cfg.n_mels}), got shape {tuple(mel.shape)}")
        return torch.tanh(self.cond_net(mel.transpose(1, 2)))

    def layer_conditioning(self, cond: torch.Tensor) -> list[torch.Tensor]:
        """Frame features ``(B, C, T_frames)`` -> each layer's ``V_l c`` at frame rate ``(B, gate, T_frames)``."""
        return [layer.cond(cond) for layer in self.layers]

    def encode_input(self, audio: torch.Tensor) -> torch.Tensor:
        """Waveform ``(B, T)`` in [-1, 1] -> what the input layer reads (μ-law classes or values)."""
        return mu_law_encode(audio, self.cfg.n_classes - 1) if self.cfg.output == "mulaw" else audio

    def net(self, inputs: torch.Tensor, layer_cond: list[torch.Tensor]) -> torch.Tensor:
        """The causal stack on given inputs and per-layer sample-rate conditioning.

        ``inputs``: ``(B, T)`` previous-sample classes (long) or values (float);
        ``layer_cond``: per layer ``(B, gate, T)``. Returns ``(B, n_out, T)``.
        """
        if self.cfg.output == "mulaw":
            x = self.input(inputs).transpose(1, 2)  # (B, R, T)
        else:
            x = self.input(inputs[:, None].float())  # (B, R, T)
        skips = 0
        for layer, c in zip(self.layers, layer_cond):
            x, s = layer(x, c)
            skips = skips + s  # (B, S, T)
        return self.head2(F.relu(self.head1(F.relu(skips))))

    def forward(self, audio: torch.Tensor, mel: torch.Tensor) -> torch.Tensor:
        """Teacher-forced output distribution for every sample.

        Parameters
        ----------
        audio : Tensor
            ``(B, T)`` waveform in [-1, 1] with ``T = T_frames * hop_length``
            (see :func:`align_audio`); sample ``t`` is predicted from samples ``< t``.
        mel : Tensor
            ``(B, T_frames, n_mels)`` scaled mel; sample ``t`` is conditioned on frame
            ``t // hop_length``.

        Returns
        -------
        Tensor ``(B, n_out, T)``: logits over μ-law classes, or mixture parameters.
        """
        hop = self.cfg.hop_length
        if audio.dim() != 2 or mel.dim() != 3 or audio.shape[0] != mel.shape[0]:
            raise ValueError(f"WaveNet: expected audio (B, T) and mel (B, T_frames, n_mels), got {tuple(audio.shape)} and {tuple(mel.shape)}")
        if audio.shape[1] != mel.shape[1] * hop:
            raise ValueError(
                f"WaveNet: audio has {audio.shape[1]} samples but mel has {mel.shape[1]} frames x hop {hop} = "
                f"{mel.shape[1] * hop}; use tacolib.vocoder.wavenet.align_audio"
            )
        return self.forward_frames(audio, self.condition(mel))

    def forward_frames(self, audio: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """:meth:`forward` from frame features ``(B, C, T/hop)`` (e.g. a slice of a longer utterance's)."""
        inputs = self.encode_input(audio)  # (B, T)
        start = torch.full_like(inputs[:, :1], self.start_input)
        inputs = torch.cat([start, inputs[:, :-1]], dim=1)  # shift right: predict x_t from x_<t
        hop = self.cfg.hop_length
        layer_cond = [c.repeat_interleave(hop, dim=-1) for c in self.layer_conditioning(cond)]  # (B, gate, T)
        return self.net(inputs, layer_cond)

    def config_dict(self) -> dict:
        return asdict(self.cfg)


def save_wavenet(path, model: WaveNet, extra: dict | None = None):
    """Write a WaveNet checkpoint atomically: ``{"wavenet_config", "state_dict", **extra}``.

    Only plain values are stored (the config as a dict, tensors), so :func:`load_wavenet`
    opens it with ``weights_only=True``; keep ``extra`` to numbers, strings, lists,
    dicts and tensors (a file holding other objects is refused at load). A full or
    unwritable disk raises :class:`tacolib.safe_io.OutputError`, keeping the old file.
    """
    from tacolib import safe_io

    state = {"wavenet_config": model.config_dict(), "state_dict": model.state_dict(), **(extra or {})}
    with safe_io.atomic_open(path) as f:
        torch.save(state, f)
    return Path(path)


def load_wavenet(path, map_location="cpu") -> WaveNet:
    """Read a checkpoint written by :func:`save_wavenet`; returns the model in eval mode.

    The file is opened with ``torch.load(weights_only=True)`` (:func:`tacolib.safe_io.torch_load`):
    it never runs code. Files written by earlier versions load the same way (they held
    plain values too); a file that would run code is refused.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        One line naming the file: it would run code (:class:`tacolib.safe_io.UnsafeFileError`,
        with the "only if you trust it" advice), is truncated or not a torch file, is not
        a WaveNet checkpoint, or its config or weights do not make a WaveNet.
    """
    from tacolib import safe_io

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"WaveNet checkpoint not found: {path}")
    state = safe_io.torch_load(path, map_location=map_location)
    if not isinstance(state, dict) or not isinstance(state.get("wavenet_config"), dict) or not isinstance(state.get("state_dict"), dict):
        raise ValueError(f"{path}: not a WaveNet checkpoint (no 'wavenet_config' and 'state_dict'; write it with save_wavenet)")
    try:
        model = WaveNet(WaveNetConfig(**state["wavenet_config"]))
    except (TypeError, ValueError) as e:
        raise ValueError(f"{path}: its wavenet_config does not make a WaveNet: {e}") from None
    try:
        model.load_state_dict(state["state_dict"])
    except RuntimeError as e:
        raise ValueError(f"{path}: the weights do not fit its wavenet_config: {str(e).splitlines()[0]}") from None
    return model.eval()


# ---- losses --------------------------------------------------------------------------


def mol_loss(params: torch.Tensor, target: torch.Tensor, n_levels: int = 65536, log_scale_min: float = -7.0) -> torch.Tensor:
    """Negative log-likelihood of a discretized mixture of logistics (Salimans et al. 2017).

    Parameters
    ----------
    params : Tensor
        ``(B, 3K, T)``: mixture logits, means, log scales (``K`` components).
    target : Tensor
        ``(B, T)`` in [-1, 1], seen as one of ``n_levels`` evenly spaced values.

    Returns
    -------
    Tensor: mean NLL per sample (nats).
    """
    K = params.shape[1] // 3
    logit_probs, means, log_scales = params.split(K, dim=1)  # (B, K, T) each
    log_scales = log_scales.clamp(min=log_scale_min)
    y = target[:, None]  # (B, 1, T)
    centered = y - means
    inv_s = torch.exp(-log_scales)
    half_bin = 1.0 / (n_levels - 1)
    plus_in = inv_s * (centered + half_bin)
    min_in = inv_s * (centered - half_bin)
    cdf_delta = torch.sigmoid(plus_in) - torch.sigmoid(min_in)  # probability mass of the bin
    log_cdf_plus = plus_in - F.softplus(plus_in)  # the lowest bin: everything below
    log_one_minus_cdf_min = -F.softplus(min_in)  # the highest bin: everything above
    mid_in = inv_s * centered
    log_pdf_mid = mid_in - log_scales - 2.0 * F.softplus(mid_in)  # density * bin width when the mass underflows
    inner = torch.where(cdf_delta > 1e-5, torch.log(cdf_delta.clamp_min(1e-12)), log_pdf_mid - math.log((n_levels - 1) / 2))
    inner = torch.where(y > 0.999, log_one_minus_cdf_min, inner)
    log_probs = torch.where(y < -0.999, log_cdf_plus, inner) + F.log_softmax(logit_probs, dim=1)
    return -torch.logsumexp(log_probs, dim=1).mean()


def wavenet_loss(model: WaveNet, output: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over μ-law classes, or the mixture-of-logistics NLL (nats per sample)."""
    if model.cfg.output == "mulaw":
        return F.cross_entropy(output, mu_law_encode(audio, model.cfg.n_classes - 1))
    return mol_loss(output, audio)


# ---- frames and samples ----------------------------------------------------------------


def align_audio(wav: torch.Tensor, n_frames: int, hop_length: int) -> torch.Tensor:
    """Zero-pad or crop ``(..., T)`` audio to ``n_frames * hop_length`` samples (frame ``f``
    covers samples ``[f * hop, (f + 1) * hop)``)."""
    n = n_frames * hop_length
    return wav[..., :n] if wav.shape[-1] >= n else F.pad(wav, (0, n - wav.shape[-1]))


def decode_samples(model: WaveNet, samples) -> torch.Tensor:
    """Generated classes (μ-law) or values (MoL) -> waveform in [-1, 1]."""
    samples = torch.as_tensor(samples)
    if model.cfg.output == "mulaw":
        return mu_law_decode(samples.long(), model.cfg.n_classes - 1)
    return samples.float()
