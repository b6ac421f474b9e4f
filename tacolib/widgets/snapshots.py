"""Scrub through the alignment snapshots of a training run (notebook 08).

A thin layer over :func:`tacolib.viz.plot_alignment`: a slider picks the snapshot,
a dropdown the utterance, and :func:`render_snapshot` (a pure function, unit-tested)
draws it with the step, loss and alignment metrics in the title.

Examples
--------
>>> hist = overfit(model, batch, cfg, steps=300, snapshot_every=20)
>>> snapshot_viewer(hist.snapshots, texts=batch["texts"])   # in a notebook
"""

from __future__ import annotations

from typing import Sequence

from tacolib.viz import plot_alignment

__all__ = ["snapshot_title", "render_snapshot", "snapshot_viewer"]


def snapshot_title(snapshot, utterance: int = 0) -> str:
    """``"step 120 (35.1 s) · loss 0.84 · focus 0.52 · diag 0.81 · utt 0"``."""
    m = snapshot.metrics
    return (
        f"step {snapshot.step} ({snapshot.seconds:.1f} s) · loss {snapshot.loss:.3g} · "
        f"focus {m.get('focus', float('nan')):.2f} · diag {m.get('diagonality', float('nan')):.2f} · utt {utterance}"
    )


def render_snapshot(snapshots: Sequence, index: int, utterance: int = 0, texts: Sequence[str] | None = None, ax=None):
    """Draw snapshot ``index`` of utterance ``utterance``, padding cropped.

    Parameters
    ----------
    snapshots : sequence of tacolib.overfit.Snapshot
        Each holds ``alignments`` ``(B, T_dec, T_in)``, lengths, metrics, step, loss.
    index : int
        Which snapshot (negative counts from the end, like a list).
    utterance : int
        Which utterance of the batch.
    texts : sequence of str, optional
        The batch's texts, to label the encoder axis.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not len(snapshots):
        raise ValueError("render_snapshot: no snapshots to show (was snapshot_every 0 and training empty?)")
    if not -len(snapshots) <= index < len(snapshots):
        raise IndexError(f"render_snapshot: index {index} out of range for {len(snapshots)} snapshots")
    snap = snapshots[index]
    B = snap.alignments.shape[0]
    if not 0 <= utterance < B:
        raise IndexError(f"render_snapshot: utterance {utterance} out of range for a batch of {B}")
    return plot_alignment(
        snap.alignments[utterance],
        title=snapshot_title(snap, utterance),
        text=None if texts is None else texts[utterance],
        text_length=int(snap.text_lengths[utterance]),
        decoder_length=int(snap.dec_lengths[utterance]),
        ax=ax,
    )


def snapshot_viewer(snapshots: Sequence, texts: Sequence[str] | None = None):
    """An ipywidgets box: a step slider and an utterance dropdown over the snapshots.

    Returns
    -------
    ipywidgets.VBox
        Display it as the last expression of a cell.
    """
    import ipywidgets as W
    import matplotlib.pyplot as plt
    from IPython.display import display

    if not len(snapshots):
        raise ValueError("snapshot_viewer: no snapshots to show")
    B = snapshots[0].alignments.shape[0]
    slider = W.IntSlider(value=len(snapshots) - 1, min=0, max=len(snapshots) - 1, description="snapshot", continuous_update=False)
    utt = W.Dropdown(options=[(f"utterance {b}", b) for b in range(B)], value=0, description="")
    step_label = W.Label()
    out = W.Output()

    def redraw(*_):
        step_label.value = f"step {snapshots[slider.value].step}"
        with out:
            out.clear_output(wait=True)
            fig = render_snapshot(snapshots, slider.value, utt.value, texts)
            display(fig)
            plt.close(fig)

    slider.observe(redraw, names="value")
    utt.observe(redraw, names="value")
    redraw()
    return W.VBox([W.HBox([slider, step_label, utt]), out])
