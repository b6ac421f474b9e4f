"""Text to speech from a trained checkpoint: text -> mel -> waveform.

    text ─► Tacotron2.inference ─► mel (T, n_mels) ─► vocoder.generate ─► wav
                                                      (GriffinLimVocoder, or a WaveNetVocoder)

Used by ``tacolib synthesize``, ``tacolib evaluate`` and the quickstart.

Examples
--------
>>> model, cfg = load_model("runs/tiny/checkpoints/best.pt")
>>> result = synthesize(model, "The birch canoe slid on the smooth planks.")
>>> save_wav("out.wav", result["wav"], result["sample_rate"])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import torch

from tacolib import checkpoint as ckpt
from tacolib.config import Config
from tacolib.masks import decoder_lengths
from tacolib.model import Tacotron2
from tacolib.runtime import resolve_device
from tacolib.vocoder.griffin_lim import GriffinLimVocoder

__all__ = ["Vocoder", "load_model", "synthesize", "plot_result"]


def load_model(checkpoint: str | Path, device: str | torch.device | None = None) -> tuple[torch.nn.Module, Config]:
    """A ``Tacotron2`` with a checkpoint's weights, in eval mode, and its config.

    The model carries ``checkpoint_step`` and ``checkpoint_path`` (the file read).

    Parameters
    ----------
    checkpoint : str or Path
        A checkpoint file, or a run folder (``best.pt`` is preferred, else the newest).
    device : str or torch.device, optional
        Default: the GPU when present, else CPU.

    Raises
    ------
    tacolib.checkpoint.CheckpointError
        Missing, corrupt or foreign file.
    """
    path = Path(checkpoint)
    if path.is_dir():
        for candidate in (path / "checkpoints" / "best.pt", path / "best.pt"):
            if candidate.is_file():
                path = candidate
                break
        else:
            sub = path / "checkpoints"
            path = ckpt.latest_checkpoint(sub) or ckpt.latest_checkpoint(path) or path
    state = ckpt.load_checkpoint(path, map_location="cpu")
    cfg = ckpt.checkpoint_config(state)
    model = Tacotron2(cfg)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as e:
        raise ckpt.CheckpointError(f"{path}: the weights do not fit the model its config describes: {str(e).splitlines()[0]}") from None
    model.to(resolve_device(device)).eval()
    model.checkpoint_step = int(state["step"])
    model.checkpoint_path = str(path)  # the file read (fine-tuning starts from the same one)
    return model, cfg


class Vocoder(Protocol):
    """What :func:`synthesize` needs of a vocoder (:class:`~tacolib.vocoder.griffin_lim.GriffinLimVocoder`,
    :class:`~tacolib.vocoder.wavenet_generate.WaveNetVocoder`)."""

    def generate(self, mel: torch.Tensor) -> torch.Tensor:
        """Scaled mel ``(T_frames, n_mels)`` -> waveform ``(T_samples,)`` in [-1, 1]."""


@torch.no_grad()
def synthesize(model: torch.nn.Module, text: str, vocoder: Vocoder | str | None = None, seed: int = 0, gl_iters: int = 60,
               max_decoder_steps: int | None = None, attention_window: int = 0) -> dict[str, Any]:
    """Speak one sentence.

    Parameters
    ----------
    model : Tacotron2
        In eval mode (see :func:`load_model`).
    text : str
        Raw text; ``tacolib.text`` normalizes it.
    vocoder : Vocoder, optional
        Any object with ``generate(mel) -> wav`` (:class:`Vocoder`), e.g. a
        :class:`~tacolib.vocoder.wavenet_generate.WaveNetVocoder`. Default (None or
        ``"griffin_lim"``): a :class:`~tacolib.vocoder.griffin_lim.GriffinLimVocoder`
        with ``gl_iters`` iterations.
    seed : int
        Seeds the prenet's dropout (always on at inference): the same seed gives the
        same speech.
    max_decoder_steps : int, optional
        Cap on decoder steps (default: the config's).
    attention_window : int
        0: free attention; ``w > 0`` keeps each step within ``w`` symbols of the
        furthest point read (long sentences, :meth:`Tacotron2.inference`).

    Returns
    -------
    dict
        ``wav`` ``(T_samples,)`` float in [-1, 1], ``sample_rate`` (Hz), ``mel``
        ``(T, n_mels)``, ``alignment`` ``(T_dec, T_in)``, ``gate_logits`` ``(T,)``,
        ``length`` (frames), ``stop_reason`` (``"gate"``/``"max_steps"``), ``text``.
    """
    cfg = model.cfg
    model.eval()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        out = model.inference(text, max_decoder_steps=max_decoder_steps, attention_window=attention_window)
    L = int(out["lengths"][0])
    r = cfg.model.r
    ids, lengths = model.encode_text(text)
    mel = out["mel_postnet"][0, :L].float().cpu()
    if vocoder is None or vocoder == "griffin_lim":
        vocoder = GriffinLimVocoder(cfg.audio, n_iter=gl_iters)
    wav = torch.as_tensor(vocoder.generate(mel)).reshape(-1).float().cpu()
    return {
        "wav": wav.clamp(-1, 1),
        "sample_rate": cfg.audio.sample_rate,
        "mel": mel,
        "alignment": out["alignments"][0, : int(decoder_lengths(L, r)), : int(lengths[0])].float().cpu(),
        "gate_logits": out["gate_logits"][0, :L].float().cpu(),
        "length": L,
        "stop_reason": out["stop_reason"][0],
        "text": text,
    }


def plot_result(result: dict[str, Any], path: str | Path | None = None):
    """Alignment, mel and stop curve of a :func:`synthesize` result; saved as PNG when ``path`` is given."""
    import matplotlib.pyplot as plt

    from tacolib import viz

    fig = plt.figure(figsize=(12, 6))
    gs = fig.add_gridspec(2, 2, width_ratios=[1, 1.6], height_ratios=[2, 1])
    viz.plot_alignment(result["alignment"], title="alignment", ax=fig.add_subplot(gs[:, 0]))
    viz.plot_mel(result["mel"], title="predicted mel", ax=fig.add_subplot(gs[0, 1]), colorbar=False)
    viz.plot_gate(result["gate_logits"], ax=fig.add_subplot(gs[1, 1]))
    fig.suptitle(result["text"][:100], fontsize=9)
    fig.tight_layout()
    if path is not None:
        viz.save_figure(fig, path, dpi=110)
    return fig
