"""Text to speech from a trained checkpoint: text -> mel -> waveform.

    text ─► Tacotron2.inference ─► mel (T, n_mels) ─► Griffin-Lim (or a WaveNet) ─► wav

Used by ``tacolib synthesize``, ``tacolib evaluate`` and the quickstart.

Examples
--------
>>> model, cfg = load_model("runs/tiny/checkpoints/best.pt")
>>> result = synthesize(model, "The birch canoe slid on the smooth planks.")
>>> save_wav("out.wav", result["wav"], result["sample_rate"])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from tacolib import checkpoint as ckpt
from tacolib.config import Config
from tacolib.masks import decoder_lengths

__all__ = ["load_model", "synthesize", "plot_result"]


def load_model(checkpoint: str | Path, device: str | torch.device | None = None) -> tuple[torch.nn.Module, Config]:
    """A ``Tacotron2`` with a checkpoint's weights, in eval mode, and its config.

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
    from tacolib.model import Tacotron2
    from tacolib.runtime import resolve_device

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
    return model, cfg


def _vocode(mel: torch.Tensor, cfg: Config, vocoder: Any = None, gl_iters: int = 60) -> torch.Tensor:
    """(T, n_mels) scaled mel -> (T_samples,) waveform on CPU."""
    if vocoder is None or vocoder == "griffin_lim":
        from tacolib.vocoder.griffin_lim import mel_to_audio

        a = cfg.audio
        mel = mel.float().cpu()
        n = mel.shape[0]
        short = a.n_fft // a.hop_length + 1 - n  # an STFT window needs a few frames
        if short > 0:  # pad with silence, cut afterwards
            mel = torch.cat([mel, torch.full((short, mel.shape[1]), -a.max_abs_value)])
        wav = torch.as_tensor(mel_to_audio(mel, a, n_iter=gl_iters)).reshape(-1)
        return wav[: n * a.hop_length] if short > 0 else wav
    # a neural vocoder: anything with .generate(mel) -> (T_samples,) (e.g. tacolib's WaveNet)
    with torch.no_grad():
        return torch.as_tensor(vocoder.generate(mel)).reshape(-1).float().cpu()


@torch.no_grad()
def synthesize(model: torch.nn.Module, text: str, vocoder: Any = None, seed: int = 0, gl_iters: int = 60, max_decoder_steps: int | None = None) -> dict[str, Any]:
    """Speak one sentence.

    Parameters
    ----------
    model : Tacotron2
        In eval mode (see :func:`load_model`).
    text : str
        Raw text; ``tacolib.text`` normalizes it.
    vocoder : None, "griffin_lim", or an object with ``generate(mel)``
        Default: Griffin-Lim with ``gl_iters`` iterations.
    seed : int
        Seeds the prenet's dropout (always on at inference): the same seed gives the
        same speech.
    max_decoder_steps : int, optional
        Cap on decoder steps (default: the config's).

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
        out = model.inference(text, max_decoder_steps=max_decoder_steps)
    L = int(out["lengths"][0])
    r = cfg.model.r
    ids, lengths = model.encode_text(text)
    mel = out["mel_postnet"][0, :L].float().cpu()
    wav = _vocode(mel, cfg, vocoder, gl_iters)
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
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig
