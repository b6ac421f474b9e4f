"""Matrix products on oneDNN for the decoder's per-step loops (CPU, float32), plain torch elsewhere.

PyTorch's CPU wheels multiply float32 matrices with MKL, which picks a slower code
path on AMD processors. oneDNN (also in the wheel, and what ``F.conv1d`` already
runs on) does not. Measured on this course's 2-core AMD EPYC, one thread:

=========================================  =========  ==========================
product                                    MKL        oneDNN, weight pre-packed
=========================================  =========  ==========================
(16 x 640) @ (640 x 1024), tiny LSTM step  243 us     98 us
(16 x 2560) @ (2560 x 4096), paper LSTM    5.5 ms     2.0 ms
(1024 x 960) @ (960 x 640), weight grad    12.6 ms    6.4 ms (not pre-packed)
=========================================  =========  ==========================

A recurrent loop multiplies by the same weight at every step, so the weight is
reordered into oneDNN's blocked layout once (:class:`PackedLinear`, ~0.25 ms at
tiny size) and reused ``T`` times. Results agree with ``torch.mm`` to float32
rounding. Anything else (a GPU, float64, a build without oneDNN, or a oneDNN call
that fails once) uses ``torch.mm``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_STATE = {"ok": None}  # None: not probed yet


def onednn_available() -> bool:
    """True when this torch build runs oneDNN's linear on CPU (probed once, on tiny tensors)."""
    if _STATE["ok"] is None:
        ok = False
        try:
            if torch.backends.mkldnn.is_available():
                a = torch.linspace(-1.0, 1.0, 15).view(3, 5)  # no random numbers: the probe must not move torch's RNG
                w = torch.linspace(-2.0, 1.0, 20).view(4, 5)
                packed = torch.ops.mkldnn._reorder_linear_weight(w, 3)
                ok = bool(torch.allclose(torch.ops.mkldnn._linear_pointwise(a, packed, None, "none", [], ""), a @ w.t(), atol=1e-5))
        except (RuntimeError, AttributeError, NotImplementedError):
            ok = False
        _STATE["ok"] = ok
    return _STATE["ok"]


def _use_onednn(t: torch.Tensor) -> bool:
    return t.device.type == "cpu" and t.dtype == torch.float32 and onednn_available()


class PackedLinear:
    """``x -> x @ weight.T`` with ``weight`` prepared once for many products.

    Parameters
    ----------
    weight : torch.Tensor
        ``(N, K)``; not modified, and not tracked by autograd (callers use it
        inside a ``torch.autograd.Function``).
    rows : int
        Typical number of rows ``M`` of ``x`` (oneDNN picks its blocking from it).

    Shapes
    ------
    __call__(x (M, K), bias (N,) or None) -> (M, N)
    """

    def __init__(self, weight: torch.Tensor, rows: int):
        self.weight = weight
        self.packed = torch.ops.mkldnn._reorder_linear_weight(weight.detach().contiguous(), rows) if _use_onednn(weight) else None

    def __call__(self, x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        if self.packed is not None:
            return torch.ops.mkldnn._linear_pointwise(x, self.packed, bias, "none", [], "")
        return torch.mm(x, self.weight.t()) if bias is None else torch.addmm(bias, x, self.weight.t())


def matmul_tn(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a.T @ b`` for ``a`` ``(R, N)`` and ``b`` ``(R, K)`` -> ``(N, K)``: a weight gradient summed over ``R`` rows."""
    if _use_onednn(a):
        a, b = a.contiguous(), b.contiguous()  # a strided view with padded rows sends oneDNN down a ~1000x slower path
        if b.shape[1] < a.shape[1]:  # oneDNN copies its first operand transposed: hand it the narrower one
            return torch.ops.mkldnn._linear_pointwise(b.t(), a.t(), None, "none", [], "").t()
        return torch.ops.mkldnn._linear_pointwise(a.t(), b.t(), None, "none", [], "")
    return a.t() @ b


class _Linear(torch.autograd.Function):
    """``x W^T + b`` on oneDNN, forward and backward (2-D ``x``)."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        g = g.contiguous()
        need = ctx.needs_input_grad
        g_x = torch.ops.mkldnn._linear_pointwise(g, weight.t(), None, "none", [], "") if need[0] else None
        g_w = matmul_tn(g, x) if need[1] else None
        g_b = g.sum(0) if ctx.has_bias and need[2] else None
        return g_x, g_w, g_b


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``F.linear`` for many rows at once, on oneDNN where it runs (forward and backward).

    ``x`` ``(..., K)``, ``weight`` ``(N, K)``, ``bias`` ``(N,)`` -> ``(..., N)``.
    """
    if not _use_onednn(x):
        return F.linear(x, weight, bias)
    y = _Linear.apply(x.reshape(-1, x.shape[-1]), weight.contiguous(), bias)  # a column slice of a weight is slow in oneDNN
    return y.view(*x.shape[:-1], weight.shape[0])
