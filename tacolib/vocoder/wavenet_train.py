"""Training a WaveNet (:mod:`tacolib.vocoder.wavenet`) on (waveform, mel) pairs.

Teacher forcing on random segments::

    utterance i: wav (T_i,) ──align_audio──► T_frames_i * hop samples
                 mel (T_frames_i, n_mels) ──model.condition (whole utterance)──► (C, T_frames_i)
    a window of segment_frames frames ──► forward_frames(audio, cond) ──► wavenet_loss ──► Adam

The mels are the recording's own or, as in Tacotron 2 (Shen et al. 2018), a trained
Tacotron 2's teacher-forced predictions (:func:`predicted_mels`), so the vocoder learns
the acoustic model's smoothing and errors.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn

from tacolib.vocoder.wavenet import WaveNet, align_audio, wavenet_loss

__all__ = ["train_wavenet", "predicted_mels"]


def train_wavenet(
    model: WaveNet,
    wavs: list,
    mels: list,
    steps: int = 200,
    batch_size: int = 4,
    segment_frames: int = 32,
    lr: float = 1e-3,
    seed: int = 0,
    log_every: int = 10,
    progress: bool = True,
    optimizer: torch.optim.Optimizer | None = None,
) -> dict:
    """Train on random segments of (waveform, mel) pairs with teacher forcing.

    Each step draws ``batch_size`` utterances and in each a random window of
    ``segment_frames`` frames (``segment_frames * hop_length`` samples); the mel
    conditioning is computed on the whole utterance and sliced, so segment edges see
    their real neighbouring frames.

    Parameters
    ----------
    model : WaveNet
    wavs : list of Tensor
        ``(T_i,)`` waveforms in [-1, 1] at the mels' sample rate.
    mels : list of Tensor
        ``(T_frames_i, n_mels)`` scaled mels of the same utterances: ground truth
        (``tacolib.audio.mel_spectrogram``) or a model's teacher-forced predictions
        (:func:`predicted_mels`), which is what Tacotron 2 does.
    steps, batch_size, segment_frames, lr, seed, log_every, progress
        Optimisation and logging; ``progress`` shows a tqdm bar.
    optimizer : torch.optim.Optimizer, optional
        Continue with this one (Adam at ``lr`` otherwise).

    Returns
    -------
    dict with ``losses`` (per step), ``steps``, ``seconds``, ``samples_per_s``
    (training throughput) and ``optimizer``.
    """
    from tqdm.auto import tqdm

    if len(wavs) != len(mels) or not wavs:
        raise ValueError(f"train_wavenet: need as many waveforms as mels (>0), got {len(wavs)} and {len(mels)}")
    hop = model.cfg.hop_length
    for i, m in enumerate(mels):
        if m.dim() != 2 or m.shape[-1] != model.cfg.n_mels:
            raise ValueError(f"train_wavenet: mels[{i}] must be (T_frames, n_mels={model.cfg.n_mels}), got {tuple(m.shape)}")
    pairs = [(align_audio(torch.as_tensor(w).float(), m.shape[0], hop), m.float()) for w, m in zip(wavs, mels)]
    pairs = [(w, m) for w, m in pairs if m.shape[0] >= segment_frames]
    if not pairs:
        raise ValueError(f"train_wavenet: every utterance is shorter than segment_frames={segment_frames}")
    device = next(model.parameters()).device
    opt = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    model.train()
    losses, n_samples = [], 0
    t0 = time.perf_counter()
    bar = tqdm(range(steps), desc="WaveNet training", disable=not progress)
    for step in bar:
        audio, conds = [], []
        for _ in range(batch_size):
            w, m = pairs[int(torch.randint(len(pairs), (1,), generator=g))]
            k = int(torch.randint(m.shape[0] - segment_frames + 1, (1,), generator=g))
            cond = model.condition(m[None].to(device))  # (1, C, T_frames): whole utterance
            conds.append(cond[..., k : k + segment_frames])
            audio.append(w[k * hop : (k + segment_frames) * hop])
        audio = torch.stack(audio).to(device)  # (B, segment_frames * hop)
        out = model.forward_frames(audio, torch.cat(conds))
        loss = wavenet_loss(model, out, audio)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        n_samples += audio.numel()
        if progress and (step % log_every == 0 or step == steps - 1):
            bar.set_postfix(loss=f"{np.mean(losses[-log_every:]):.3f}")
    seconds = time.perf_counter() - t0
    model.eval()
    return {"losses": losses, "steps": steps, "seconds": seconds, "samples_per_s": n_samples / max(seconds, 1e-9), "optimizer": opt}


# ---- Tacotron 2's own mels -------------------------------------------------------------


@torch.no_grad()
def predicted_mels(tacotron: nn.Module, batch: dict, postnet: bool = True) -> list[torch.Tensor]:
    """A Tacotron 2's teacher-forced predicted mels, one per utterance, aligned to its audio.

    Teacher forcing feeds the true previous frame at each decoder step, so the model
    predicts exactly one frame per target frame, and frame ``f`` still describes
    samples ``[f * hop, (f + 1) * hop)`` of the recording. Training WaveNet on these
    (instead of ground-truth mels) teaches it the model's smoothing and errors: what
    Shen et al. (2018) found necessary for good quality.

    Parameters
    ----------
    tacotron : tacolib.model.Tacotron2
    batch : dict
        A batch from ``tacolib.batching.collate`` (``mel_lengths`` crops the padding).
    postnet : bool
        Use ``mel_postnet`` (default) or the decoder's ``mel``.

    Returns
    -------
    list of Tensor ``(mel_lengths[i], n_mels)`` on CPU.
    """
    was_training = tacotron.training
    tacotron.eval()
    try:
        out = tacotron(batch)
    finally:
        tacotron.train(was_training)
    mel = out["mel_postnet" if postnet else "mel"]  # (B, T_out, n_mels)
    if mel.shape[:2] != batch["mel"].shape[:2]:
        raise ValueError(f"predicted_mels: the model returned {tuple(mel.shape)} for targets {tuple(batch['mel'].shape)}; not teacher-forced?")
    return [mel[i, : int(n)].detach().float().cpu() for i, n in enumerate(batch["mel_lengths"])]
