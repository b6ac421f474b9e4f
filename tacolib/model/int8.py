"""Int8 decoder LSTMs for fast CPU inference.

At batch 1 a decoder step is memory-bound: the two paper-size LSTM cells hold
17.8 M weights, 71 MB in fp32, more than a laptop's last-level cache, so every step
streams them from RAM. Stored as int8 they take 18 MB and fit in cache, and the
step runs several times faster (``benchmarks/model.py`` measures it side by side).

The quantization is *dynamic* (PyTorch's fbgemm kernels): weights are int8 with one
scale per output row, fixed once; each step's input is scaled to int8 on the fly,
multiplied in integer arithmetic and scaled back to float. The gate nonlinearities,
the cell state and zoneout stay in fp32. The input-to-hidden and hidden-to-hidden
products are quantized separately, so the LSTM's own state ``h`` (in [-1, 1]) does not
share an int8 range with the much larger prenet and context activations.

This is an inference-only transformation; training stays in fp32.

>>> fast = quantize_decoder(model)      # a copy; the original is untouched
>>> out = fast.inference("Hello there.")
"""

from __future__ import annotations

import copy
import warnings

import torch
import torch.nn as nn


def _dynamic_linear(weight: torch.Tensor, bias: torch.Tensor | None):
    """fbgemm's dynamic int8 linear layer holding ``weight`` ``(out, in)``.

    Raises a clear ``RuntimeError`` where this torch build lacks the quantized kernels.
    """
    try:
        from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear
        from torch.ao.quantization import per_channel_dynamic_qconfig
    except ImportError as err:  # pragma: no cover - depends on the torch build
        raise RuntimeError(
            "int8 inference needs PyTorch's dynamic quantization (torch.ao.nn.quantized.dynamic), "
            f"which this torch {torch.__version__} does not provide; run the model in fp32 instead"
        ) from err
    if "fbgemm" not in torch.backends.quantized.supported_engines and "x86" not in torch.backends.quantized.supported_engines:
        raise RuntimeError(
            f"int8 inference needs the fbgemm/x86 quantized engine; this machine offers {torch.backends.quantized.supported_engines}"
        )
    lin = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    with torch.no_grad():
        lin.weight.copy_(weight)
        if bias is not None:
            lin.bias.copy_(bias)
    lin.qconfig = per_channel_dynamic_qconfig
    with warnings.catch_warnings():
        # torch 2.13 marks its quantized tensor types deprecated (pytorch#184982) but still
        # ships and supports them; the fbgemm int8 kernels have no other public entry point.
        warnings.filterwarnings("ignore", message=".*quantize_per_(tensor|channel).*deprecated.*")
        warnings.filterwarnings("ignore", message=".*quantized tensor creation.*deprecated.*")
        return DynamicLinear.from_float(lin)


class Int8LSTMCell(nn.Module):
    """An inference-only copy of a (zoneout) LSTM cell with int8 weights.

    Parameters
    ----------
    cell : nn.LSTMCell or ZoneoutLSTMCell
        The fp32 cell to copy. Its eval-mode behaviour is reproduced: the output is
        the plain LSTM output; with zoneout ``p`` the carried state is
        ``p * previous + (1 - p) * new`` (the expectation used at inference).

    Shapes
    ------
    forward(x (B, input_size), (h, c) each (B, hidden_size))
        -> output (B, hidden_size), (h_next, c_next) each (B, hidden_size)
    """

    def __init__(self, cell: nn.LSTMCell):
        super().__init__()
        if not isinstance(cell, nn.LSTMCell):
            raise TypeError(f"Int8LSTMCell: expected an nn.LSTMCell, got {type(cell).__name__}")
        self.input_size, self.hidden_size = cell.input_size, cell.hidden_size
        self.zoneout = float(getattr(cell, "zoneout", 0.0))
        w_ih, w_hh = cell.weight_ih.detach().float(), cell.weight_hh.detach().float()  # (4H, I), (4H, H)
        bias = None
        if cell.bias:
            bias = (cell.bias_ih + cell.bias_hh).detach().float()  # (4H,)
        self.ih = _dynamic_linear(w_ih, bias)
        self.hh = _dynamic_linear(w_hh, None)
        self.train(False)

    def train(self, mode: bool = True) -> "Int8LSTMCell":
        if mode:
            raise RuntimeError("Int8LSTMCell is for inference only; train the fp32 model and quantize it afterwards")
        return super().train(False)

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], keep: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """One step; ``keep`` (training-time zoneout masks) must be None."""
        if keep is not None:
            raise RuntimeError("Int8LSTMCell is for inference only: zoneout masks are a training-time input")
        h, c = state
        gates = self.ih(x) + self.hh(h)  # (B, 4H), PyTorch's gate order i, f, g, o
        i, f, g, o = gates.chunk(4, 1)
        c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h_new = torch.sigmoid(o) * torch.tanh(c_new)
        p = self.zoneout
        if p == 0.0:
            return h_new, (h_new, c_new)
        return h_new, (torch.lerp(h_new, h, p), torch.lerp(c_new, c, p))

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, zoneout={self.zoneout}, int8"


def quantize_decoder(model: nn.Module, inplace: bool = False) -> nn.Module:
    """Return the model with its decoder's two LSTM cells in int8, for CPU inference.

    Parameters
    ----------
    model : Tacotron2
        A trained model (or anything with ``.decoder.attention_rnn`` and
        ``.decoder.decoder_rnn`` LSTM cells), on the CPU.
    inplace : bool
        Modify ``model`` itself instead of a deep copy.

    Returns
    -------
    Tacotron2
        In eval mode; ``inference`` runs as before, with int8 LSTM weights. Calling
        ``.train()`` on it raises: quantize after training.

    Raises
    ------
    ValueError
        If the model is not on the CPU (the int8 kernels are CPU kernels).
    RuntimeError
        If this torch build has no dynamic quantization.
    """
    dec = getattr(model, "decoder", None)
    if dec is None or not all(isinstance(getattr(dec, n, None), nn.LSTMCell) for n in ("attention_rnn", "decoder_rnn")):
        raise TypeError("quantize_decoder: expected a Tacotron2 whose decoder has fp32 attention_rnn and decoder_rnn LSTM cells")
    device = next(model.parameters()).device
    if device.type != "cpu":
        raise ValueError(f"quantize_decoder: int8 inference runs on the CPU; the model is on {device} (call .cpu() first)")
    out = model if inplace else copy.deepcopy(model)
    out.eval()
    out.decoder.attention_rnn = Int8LSTMCell(out.decoder.attention_rnn)
    out.decoder.decoder_rnn = Int8LSTMCell(out.decoder.decoder_rnn)
    return out


def is_quantized(model: nn.Module) -> bool:
    """True if ``model``'s decoder runs int8 LSTM cells."""
    dec = getattr(model, "decoder", None)
    return dec is not None and isinstance(getattr(dec, "attention_rnn", None), Int8LSTMCell)


__all__ = ["Int8LSTMCell", "quantize_decoder", "is_quantized"]
