"""Single-batch overfitting aligns (CI-sized), and the snapshot widget's callback draws it."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from tacolib.metrics import ALIGNED, is_aligned
from tacolib.overfit import (
    LESSONS,
    OVERFIT_LR,
    OverfitHistory,
    ReluFirstEncoder,
    Snapshot,
    lesson_model,
    overfit,
    overfit_config,
    pick_batch,
)
from tacolib.widgets.snapshots import render_snapshot, snapshot_title


@pytest.fixture(scope="module")
def trained():
    """The course recipe on the 4 shortest TinySpeech utterances, until aligned."""
    from tacolib.model import Tacotron2

    torch.manual_seed(0)
    cfg = overfit_config("tiny", coarse=2)
    batch = pick_batch(cfg, n=4)
    model = Tacotron2(cfg)
    hist = overfit(model, batch, cfg, steps=300, lr=OVERFIT_LR, until=ALIGNED, patience=5, snapshot_every=20, progress=False)
    return cfg, batch, model, hist


def test_pick_batch_takes_the_shortest_utterances():
    cfg = overfit_config("tiny", coarse=2)
    short = pick_batch(cfg, n=3)
    more = pick_batch(cfg, n=6)
    assert short["text"].shape[0] == 3
    assert int(short["mel_lengths"].max()) <= int(more["mel_lengths"].max())
    assert set(short["ids"]) <= set(more["ids"])
    assert short["mel"].shape[1] % cfg.model.r == 0


def test_overfit_reaches_a_clean_diagonal(trained):
    cfg, batch, model, hist = trained
    first = {k: v[0] for k, v in hist.metrics.items()}
    assert not is_aligned(first), f"an untrained model already passes the thresholds: {first}"
    assert hist.aligned_step is not None, f"did not align in {len(hist.steps)} steps; last metrics {hist.final_metrics}"
    assert hist.stopped_early  # held the thresholds for `patience` steps
    assert is_aligned(hist.final_metrics)
    # the memorization half of the test: the loss fell well below where it started
    assert hist.final_loss < 0.5 * hist.losses["loss"][0]
    assert hist.losses["attention"][-1] < 0.05  # the guided-attention term is nearly satisfied


def test_aligned_model_aligns_in_eval_mode_too(trained):
    """Metrics come from training-mode passes; the model itself, in eval mode, agrees."""
    from tacolib.masks import decoder_lengths
    from tacolib.metrics import alignment_metrics

    cfg, batch, model, hist = trained
    assert not model.training
    with torch.no_grad():
        out = model(batch)
    m = alignment_metrics(out["alignments"], batch["text_lengths"], decoder_lengths(batch["mel_lengths"], cfg.model.r))
    assert m["diagonality"] > ALIGNED["diagonality"] and m["focus"] > 0.8 * ALIGNED["focus"], m


def test_history_and_snapshots_are_consistent(trained):
    _, batch, _, hist = trained
    n = len(hist.steps)
    assert hist.steps == list(range(n))
    assert all(len(v) == n for v in hist.losses.values()) and all(len(v) == n for v in hist.metrics.values())
    assert np.all(np.diff(hist.seconds) >= 0) and np.all(np.diff(hist.cpu_seconds) >= 0)
    steps = [s.step for s in hist.snapshots]
    assert steps[0] == 0 and steps[-1] == hist.steps[-1] and hist.aligned_step in steps
    assert steps == sorted(set(steps))
    B, T_in = batch["text"].shape
    for s in hist.snapshots:
        assert s.alignments.shape == (B, batch["mel"].shape[1] // 3, T_in)
        assert s.metrics == {k: v[s.step] for k, v in hist.metrics.items()}
    assert hist.first_step_where(ALIGNED)[0] == hist.aligned_step


def _fake_snapshots():
    snaps = []
    for k, step in enumerate((0, 10, 20)):
        a = np.full((2, 12, 6), 1 / 6, dtype=np.float32)
        snaps.append(Snapshot(step, 1.5 * k, a, np.array([6, 4]), np.array([12, 9]), {"focus": 0.1 * k, "diagonality": 0.3}, 2.0 - k))
    return snaps


def test_render_snapshot_crops_padding_and_titles():
    snaps = _fake_snapshots()
    fig = render_snapshot(snaps, -1, utterance=1, texts=["hello", "abc"])
    ax = fig.axes[0]
    img = ax.images[0].get_array()
    assert img.shape == (4, 9)  # (T_in, T_dec) of utterance 1, padding cropped
    assert ax.get_title() == snapshot_title(snaps[-1], 1)
    assert "step 20" in ax.get_title() and "focus 0.20" in ax.get_title()
    plt.close(fig)
    with pytest.raises(IndexError, match="out of range"):
        render_snapshot(snaps, 3)
    with pytest.raises(IndexError, match="utterance"):
        render_snapshot(snaps, 0, utterance=2)
    with pytest.raises(ValueError, match="no snapshots"):
        render_snapshot([], 0)


def test_snapshot_viewer_builds_and_follows_the_slider():
    pytest.importorskip("ipywidgets")
    from tacolib.widgets.snapshots import snapshot_viewer

    box = snapshot_viewer(_fake_snapshots())
    slider, label, dropdown = box.children[0].children
    assert slider.max == 2 and label.value == "step 20"
    slider.value = 1
    assert label.value == "step 10"


def test_overfit_rejects_bad_steps():
    with pytest.raises(ValueError, match="steps"):
        overfit(torch.nn.Linear(1, 1), {}, overfit_config(), steps=0)
    assert isinstance(OverfitHistory().steps, list)


def test_lesson_variants_change_one_thing_each():
    """Each of the seed's lessons is the recipe with one switch flipped, from the recipe's weights."""
    cfg = overfit_config("tiny", coarse=2)
    built = {}
    for name in LESSONS:
        torch.manual_seed(0)
        built[name] = lesson_model(name, cfg)
    recipe_cfg, recipe = built[list(LESSONS)[0]]
    ref = recipe.state_dict()
    for name, (c, m) in built.items():
        sd = m.state_dict()
        shared = [k for k in sd if k in ref]
        differ = [k for k in shared if not torch.equal(sd[k], ref[k])]
        if name == "PyTorch's default init":
            assert c.model.init == "default" and "encoder.embedding.weight" in differ
        else:
            assert not differ, (name, differ[:3])
        if name == "learned initial states":
            assert set(sd) - set(ref) == {"decoder.h0_att", "decoder.c0_att", "decoder.h0_dec", "decoder.c0_dec"}
        if name == "no zoneout":
            assert c.model.zoneout == 0.0 and m.decoder.attention_rnn.zoneout == 0.0
    relu_first = built["ReLU before BatchNorm"][1].encoder
    assert isinstance(relu_first, ReluFirstEncoder) and not isinstance(recipe.encoder, ReluFirstEncoder)
    x = torch.randn(2, recipe_cfg.model.symbols_embedding_dim, 9)
    conv, norm = relu_first.convs[0], relu_first.norms[0]
    relu_first.eval()  # no dropout, BatchNorm on its running statistics
    torch.testing.assert_close(relu_first.conv_block(x, conv, norm), norm(torch.relu(conv(x))))
    with pytest.raises(ValueError, match="unknown variant"):
        lesson_model("no such lesson", cfg)


def test_overfit_train_step_is_the_trainers_step(tmp_path):
    """tacolib.overfit.train_step (notebook 08's reference) makes the update Trainer.train_step makes on a CPU:
    the same loss, gradient norm and weights, two steps in a row."""
    import copy

    from tacolib.loss import Tacotron2Loss
    from tacolib.overfit import train_step
    from tacolib.schedule import make_optimizer
    from tacolib.train import Trainer

    cfg = overfit_config("tiny", coarse=2)
    batch = pick_batch(cfg, n=2)
    trainer = Trainer(cfg, tmp_path, train_set=[None], val_set=[None], device="cpu", tensorboard=False, progress=False)
    model = copy.deepcopy(trainer.model)
    optimizer, criterion = make_optimizer(model, cfg.train), Tacotron2Loss.from_config(cfg)
    for step in range(2):
        torch.manual_seed(step)
        record = trainer.train_step(batch)
        torch.manual_seed(step)
        _, losses, grad_norm = train_step(model, criterion, optimizer, batch, cfg.train.grad_clip, step=step)
        assert record["loss"] == pytest.approx(float(losses["loss"].detach()), rel=1e-6)
        assert record["grad_norm"] == pytest.approx(grad_norm, rel=1e-5) and grad_norm > cfg.train.grad_clip  # clipping was active
        for (name, a), b in zip(trainer.model.named_parameters(), model.parameters()):
            torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5, msg=lambda m: f"{name} after step {step + 1}: {m}")
