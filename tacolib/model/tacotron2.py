"""Tacotron 2's feature prediction network: text in, mel spectrogram out.

    text (B, T_in) ─► Encoder ─► memory (B, T_in, d_enc)
                                   │
    mel (teacher) ─► Decoder(Prenet, attention LSTM, LocationSensitiveAttention,
                             decoder LSTM, projections) ─► mel (B, T_out, n_mels), gate_logits (B, T_out),
                                                           alignments (B, T_dec, T_in)
    mel ─► Postnet ─► mel_postnet = mel + residual (B, T_out, n_mels)

Shen et al. (2018), "Natural TTS Synthesis by Conditioning WaveNet on Mel Spectrogram
Predictions". Everything is read from a :class:`tacolib.config.Config`.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn as nn

from tacolib.config import Config
from tacolib.masks import lengths_to_mask
from tacolib.model.decoder import Decoder
from tacolib.model.encoder import Encoder
from tacolib.model.layers import INITS, pytorch_default_init_
from tacolib.model.postnet import Postnet
from tacolib.text import text_to_ids


def set_fast_paths(model: nn.Module, enabled: bool) -> None:
    """Switch the fast twins of the readable loops on or off in ``model`` (any module tree).

    They are the decoder's teacher-forced loop (``Decoder.fast_teacher_forcing``),
    the encoder's BiLSTM (``Encoder.fast_lstm``) and the postnet's time-major layers
    (``Postnet.time_major``); all give the same numbers as the readable code, which
    runs every sub-module once per step (``model.fast_paths`` in the config sets
    them at construction).
    """
    for module, switch in _fast_switches(model):
        setattr(module, switch, enabled)


def _fast_switches(model: nn.Module) -> list[tuple[nn.Module, str]]:
    """``(module, name of its fast-path switch)`` for every box in ``model`` that has one."""
    switches = {Decoder: "fast_teacher_forcing", Encoder: "fast_lstm", Postnet: "time_major"}
    return [(m, name) for m in model.modules() for cls, name in switches.items() if isinstance(m, cls)]


@contextlib.contextmanager
def readable_paths(model: nn.Module):
    """Within the block ``model`` runs its readable loops (e.g. so forward hooks see every step)."""
    saved = [(m, name, getattr(m, name)) for m, name in _fast_switches(model)]
    set_fast_paths(model, False)
    try:
        yield model
    finally:
        for m, name, enabled in saved:
            setattr(m, name, enabled)


class Tacotron2(nn.Module):
    """The whole network.

    Parameters
    ----------
    cfg : tacolib.config.Config
        Reads ``cfg.model``, ``cfg.audio.n_mels``, ``cfg.audio.pad_value``,
        ``cfg.text.n_symbols`` and ``cfg.text.max_text_len``.

    Examples
    --------
    >>> model = Tacotron2(get_config("tiny"))
    >>> out = model(batch)               # training: teacher forcing
    >>> out = model.inference("hello.")  # synthesis: free running
    """

    def __init__(self, cfg: Config):
        super().__init__()
        if cfg.model.r < 1:
            raise ValueError(f"Tacotron2: cfg.model.r must be >= 1, got {cfg.model.r}")
        if cfg.model.init not in INITS:
            raise ValueError(f"Tacotron2: unknown cfg.model.init {cfg.model.init!r}; choose one of {', '.join(INITS)}")
        self.cfg = cfg
        self.r = cfg.model.r
        self.n_mels = cfg.audio.n_mels
        self.encoder = Encoder.from_config(cfg)
        self.decoder = Decoder.from_config(cfg)
        self.postnet = Postnet.from_config(cfg)
        if cfg.model.init == "default":  # the ablation of the seed's Xavier advice (notebook 08)
            pytorch_default_init_(self)

    # ---- training ------------------------------------------------------------------
    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        """Teacher-forced pass over a batch from :func:`tacolib.batching.collate`.

        Parameters
        ----------
        batch : dict
            Needs ``text`` ``(B, T_in)``, ``text_lengths`` ``(B,)``, ``mel``
            ``(B, T_out, n_mels)``; ``mel_lengths`` ``(B,)`` is used when present
            (so padding cannot leak into the postnet).

        Returns
        -------
        dict
            ``mel``, ``mel_postnet`` ``(B, T_out, n_mels)``; ``gate_logits`` ``(B, T_out)``;
            ``alignments`` ``(B, T_dec, T_in)``. Values at padded frames are not
            meaningful: mask them with ``batch["mel_mask"]``.
        """
        for key in ("text", "text_lengths", "mel"):
            if key not in batch:
                raise KeyError(f"Tacotron2.forward: batch has no {key!r} (keys: {sorted(batch)})")
        text, text_lengths, mel = batch["text"], batch["text_lengths"], batch["mel"]
        memory = self.encoder(text, text_lengths)  # (B, T_in, d_enc)
        out = self.decoder(memory, text_lengths, mel)
        out["mel_postnet"] = self.postnet(out["mel"], batch.get("mel_lengths"))  # (B, T_out, n_mels)
        return {"mel": out["mel"], "mel_postnet": out["mel_postnet"], "gate_logits": out["gate_logits"], "alignments": out["alignments"]}

    # ---- synthesis -------------------------------------------------------------------
    def encode_text(self, text: str | list[str] | torch.Tensor, text_lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Turn any accepted ``text`` into a padded id batch.

        Returns
        -------
        ids : torch.Tensor
            ``(B, T_in)`` long, on the model's device.
        lengths : torch.Tensor
            ``(B,)`` long.

        Raises
        ------
        ValueError
            Empty text, text with no readable character, or longer than
            ``cfg.text.max_text_len`` symbols.
        """
        max_len = self.cfg.text.max_text_len
        device = next(self.parameters()).device
        if isinstance(text, torch.Tensor):
            ids = text.long()
            if ids.dim() == 1:
                ids = ids.unsqueeze(0)
            if ids.dim() != 2 or ids.shape[1] == 0:
                raise ValueError(f"Tacotron2.inference: ids must be (T_in,) or (B, T_in) with T_in >= 1, got shape {tuple(text.shape)}")
            if text_lengths is None:
                text_lengths = (ids != 0).sum(1)
            if int(text_lengths.min()) < 1:
                raise ValueError("Tacotron2.inference: an id sequence is empty (all padding)")
            if int(ids.max()) >= self.cfg.text.n_symbols or int(ids.min()) < 0:
                raise ValueError(f"Tacotron2.inference: ids must be in [0, {self.cfg.text.n_symbols}), got [{int(ids.min())}, {int(ids.max())}]")
            lengths = text_lengths.long().cpu()
        else:
            texts = [text] if isinstance(text, str) else list(text)
            if not texts:
                raise ValueError("Tacotron2.inference: got an empty list of texts")
            seqs = []
            for i, t in enumerate(texts):
                if not isinstance(t, str):
                    raise TypeError(f"Tacotron2.inference: text {i} is a {type(t).__name__}, expected str")
                if not t.strip():
                    raise ValueError(f"Tacotron2.inference: text {i} is empty")
                try:  # raises when nothing speakable is left
                    s = text_to_ids(t, add_eos=self.cfg.text.add_eos, cfg=self.cfg.text).tolist()
                except ValueError as e:
                    raise ValueError(f"Tacotron2.inference: text {i} ({t!r}) has no character the model can read ({e})") from None
                seqs.append(s)
            lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
            ids = torch.zeros(len(seqs), int(lengths.max()), dtype=torch.long)
            for i, s in enumerate(seqs):
                ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        too_long = int(lengths.max())
        if too_long > max_len:
            raise ValueError(f"Tacotron2.inference: input is {too_long} symbols long, longer than cfg.text.max_text_len={max_len}; split the text into sentences")
        return ids.to(device), lengths.to(device)

    @torch.inference_mode()
    def inference(
        self,
        text: str | list[str] | torch.Tensor,
        text_lengths: torch.Tensor | None = None,
        max_decoder_steps: int | None = None,
        gate_threshold: float | None = None,
        stop_on_gate: bool = True,
        attention_window: int = 0,
    ) -> dict:
        """Synthesize mel spectrograms from text (free running, no teacher).

        Call ``model.eval()`` first: BatchNorm then uses its running statistics and
        zoneout its expectation. The prenet's dropout stays on (the paper's choice),
        so seed torch for repeatable output.

        Parameters
        ----------
        text : str, list of str, or torch.Tensor
            A sentence, a batch of sentences (normalized with :mod:`tacolib.text`),
            or token ids ``(T_in,)`` / ``(B, T_in)`` padded with 0.
        text_lengths : torch.Tensor, optional
            ``(B,)`` for id input; default: the count of non-zero ids.
        max_decoder_steps : int, optional
            Default ``cfg.model.max_decoder_steps``.
        gate_threshold : float, optional
            Default ``cfg.model.gate_threshold``.
        stop_on_gate : bool
            False always runs ``max_decoder_steps`` steps.
        attention_window : int
            0 (default): free attention. ``w > 0``: each step attends only within
            ``w`` symbols of the furthest point read so far (long inputs; see
            :meth:`tacolib.model.decoder.Decoder.inference`).

        Returns
        -------
        dict
            ``mel``, ``mel_postnet`` ``(B, T_out, n_mels)`` (``cfg.audio.pad_value``
            after each utterance's end), ``gate_logits`` ``(B, T_out)``,
            ``alignments`` ``(B, T_dec, T_in)``, ``lengths`` ``(B,)`` in frames,
            ``stop_reason`` list of ``"gate"`` / ``"max_steps"``.
        """
        ids, lengths = self.encode_text(text, text_lengths)
        memory = self.encoder(ids, lengths)  # (B, T_in, d_enc)
        pad = self.cfg.audio.pad_value
        out = self.decoder.inference(memory, lengths, max_decoder_steps, gate_threshold, stop_on_gate, pad_value=pad,
                                     attention_window=attention_window)
        mel_postnet = self.postnet(out["mel"], out["lengths"])  # (B, T_out, n_mels)
        frame_mask = lengths_to_mask(out["lengths"], mel_postnet.shape[1])  # (B, T_out)
        out["mel_postnet"] = mel_postnet.masked_fill(~frame_mask.unsqueeze(-1), pad)
        return {k: out[k] for k in ("mel", "mel_postnet", "gate_logits", "alignments", "lengths", "stop_reason")}
