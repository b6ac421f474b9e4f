"""Module exercises: each check passes on the worked solution, names the cause of realistic
mistakes, and a passing module is saved so that notebook 08 can build the learner's model.

The solutions are the ``# EXERCISE:`` cells of ``solutions/`` (03-07, and 11's WaveNet layer), run as a kernel
would run them (:func:`tacolib.checks.learner.run_exercise_cells`). A *realistic wrong
module* is a solution cell with one line changed the way a learner gets it wrong.
"""

from __future__ import annotations

import linecache
from pathlib import Path

import pytest
import torch

from tacolib.checks import REGISTRY, CheckFailed, load_all
from tacolib.checks import boxes, decoder
from tacolib.checks import loss as loss_checks
from tacolib.checks import wavenet as wavenet_checks
from tacolib.checks.learner import BOXES, learner_loss, learner_model, load_saved, run_exercise_cells
from tacolib.checks.record import passed
from tacolib.checks.modules import variant

ROOT = Path(__file__).resolve().parents[1]
load_all()
MODULES = sorted(n for n, ex in REGISTRY.items() if ex.kind == "module")
NOTEBOOKS = {name: ROOT / "solutions" / f"{REGISTRY[name].notebook}.ipynb" for name in MODULES}

# exercise -> [(line of the solution, the learner's wrong line, words the message must contain)]
MISTAKES = {
    "Encoder": [
        ("x = dropout(F.relu(norm(conv(x * mask))), self.dropout, self.training)",
         "x = dropout(norm(F.relu(conv(x * mask))), self.dropout, self.training)", "BatchNorm after the ReLU"),
        ("conv(x * mask)", "conv(x)", "padded positions not zeroed"),
        ("self.dropout, self.training)", "self.dropout, True)", "dropout active in eval mode"),
        ("packed = pack_padded_sequence(x, text_lengths.cpu(), batch_first=True, enforce_sorted=False)\n"
         "        out, _ = self.lstm(packed)\n"
         "        out, _ = pad_packed_sequence(out, batch_first=True, total_length=T_in)", "out, _ = self.lstm(x)", "no packing"),
    ],
    "LocationSensitiveAttention": [
        ("weights = masked_softmax(e, mask) if mask is not None else torch.softmax(e, dim=1)",
         "weights = torch.softmax(e, dim=1)", "no mask"),
        ("location_features(weights_cat[:, 0], weights_cat[:, 1],", "location_features(weights_cat[:, 1], weights_cat[:, 0],",
         "previous and cumulative weights swapped"),
        ("attention_energies(query, processed_memory,", "attention_energies(query, self.process_memory(memory),", "recomputed"),
    ],
    "Prenet": [
        ("active = self.training or self.dropout_in_eval", "active = self.training", "dropout switched off in eval mode"),
        ("x = dropout(torch.relu(layer(x)), self.dropout, active)", "x = F.dropout(torch.relu(layer(x)), self.dropout, active)",
         "F.dropout"),
    ],
    "ZoneoutLSTMCell": [
        ("return h_new, (torch.where(keep[0], h, h_new), torch.where(keep[1], c, c_new))",
         "h_next = torch.where(keep[0], h, h_new)\n            return h_next, (h_next, torch.where(keep[1], c, c_new))",
         "zoneout applied to the output"),
        ("(torch.where(keep[0], h, h_new), torch.where(keep[1], c, c_new))", "(torch.where(keep[0], h_new, h), torch.where(keep[1], c_new, c))",
         "keep mask inverted"),
        ("return h_new, (p * h + (1.0 - p) * h_new, p * c + (1.0 - p) * c_new)", "return h_new, (h_new, c_new)", "no zoneout in eval mode"),
    ],
    "Decoder": [
        ("keep_att, keep_dec = zoneout_masks if zoneout_masks is not None else (None, None)", "keep_att = keep_dec = None",
         "zoneout masks not passed"),
        ('"cum_weights": state["cum_weights"] + weights', '"cum_weights": state["cum_weights"]', "cumulative weights not updated"),
        ('{"h_att": h_att, "c_att": c_att, "h_dec": h_dec,', '{"h_att": s, "c_att": c_att, "h_dec": d,', "outputs carried as h"),
    ],
    "Postnet": [
        ("return mel + x.transpose(1, 2)", "return x.transpose(1, 2)", "no residual"),
        ("            if i < last:\n                x = torch.tanh(x)\n", "            x = torch.tanh(x)\n", "tanh after the last convolution"),
        ("            if mask is not None:\n                x = x * mask\n", "", "padded frames not zeroed"),
    ],
    "Tacotron2Loss": [
        ("gate = (per_frame * mask).sum() / mask.sum()", "gate = per_frame.mean()", "stop-token BCE averaged over padded frames"),
        ("pos_weight=logits.new_tensor(self.gate_pos_weight), ", "", "without pos_weight"),
        ("attention = (align * W).sum() / steps.sum()", "attention = (align * W).mean()", "averaged over all (step, position) cells"),
    ],
    "CausalDilatedLayer": [
        ("h = self.conv(F.pad(x, (self.dilation, 0))) + c", "h = self.conv(F.pad(x, (0, self.dilation))) + c", "padding on the right"),
        ("z = torch.tanh(a) * torch.sigmoid(b)", "z = torch.sigmoid(a) * torch.tanh(b)", "the gate swapped"),
        ("x_next = (x + self.res(z)) * math.sqrt(0.5)", "x_next = self.res(z) * math.sqrt(0.5)", "the residual connection missing"),
        ("h = self.conv(F.pad(x, (self.dilation, 0))) + c", "h = self.conv(F.pad(x, (self.dilation, 0)))", "the conditioning not added"),
    ],
}

# the knob functions with every knob at its default: tacolib's computation, written again
FAITHFUL = {
    "Encoder": (boxes._encoder, "forward"), "LocationSensitiveAttention": (boxes._attention, "forward"),
    "Postnet": (boxes._postnet, "forward"), "Prenet": (decoder._prenet, "forward"),
    "ZoneoutLSTMCell": (decoder._zoneout, "forward"), "Decoder": (decoder._decoder_step, "step"),
    "Tacotron2Loss": (loss_checks._loss, "forward"), "CausalDilatedLayer": (wavenet_checks._layer, "forward"),
}


@pytest.fixture(scope="module")
def solutions():
    """notebook stem -> the namespace after running its exercise cells (nothing saved)."""
    return {nb.stem: run_exercise_cells(nb, save=False) for nb in sorted(set(NOTEBOOKS.values()))}


def _cell(ns: dict, name: str) -> str:
    cls = ns[name]
    fn = next(v for v in vars(cls).values() if callable(v) and hasattr(v, "__code__"))
    return "".join(linecache.getlines(fn.__code__.co_filename))


def _redefine(ns: dict, name: str, source: str, label: str):
    """Run a changed exercise cell in a copy of the notebook's namespace; returns the class."""
    ns = dict(ns)
    filename = f"<mistake {label}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), ns)
    return ns[name]


def test_every_module_exercise_has_mistakes_and_a_faithful_copy():
    assert set(MISTAKES) == set(MODULES) == set(FAITHFUL)
    assert all(len(m) >= 2 for m in MISTAKES.values())


@pytest.mark.parametrize("name", MODULES)
def test_check_passes_on_solution(name, solutions):
    ns = solutions[REGISTRY[name].notebook]
    cls = ns[name]
    assert cls is not REGISTRY[name].reference, f"the solution of {name} fell back to tacolib's class"
    assert REGISTRY[name].check(cls, verbose=False, save=False) is cls


@pytest.mark.parametrize("name, k", [(n, k) for n in MODULES for k in range(len(MISTAKES[n]))])
def test_realistic_mistake_fails_and_names_its_cause(name, k, solutions):
    ns = solutions[REGISTRY[name].notebook]
    right, wrong, cause = MISTAKES[name][k]
    source = _cell(ns, name)
    assert right in source, f"the solution of {name} changed; update MISTAKES: {right!r} not found"
    cls = _redefine(ns, name, source.replace(right, wrong), f"{name}-{k}")
    with pytest.raises(CheckFailed) as e:
        REGISTRY[name].check(cls, verbose=False, save=False)
    msg = str(e.value)
    assert "Likely cause" in msg and cause in msg, msg
    assert "expected" in msg and name in msg, msg  # which tensor, both values


@pytest.mark.parametrize("name", MODULES)
def test_every_variant_is_recognised(name):
    ex = REGISTRY[name]
    for v in ex.variants:
        cls = type(name, (ex.reference,), {v.method: v.impl})
        with pytest.raises(CheckFailed) as e:
            ex.check(cls, verbose=False, save=False)
        assert v.cause in str(e.value), f"variant {v.cause!r} was not recognised: {e.value}"


@pytest.mark.parametrize("name", MODULES)
def test_knob_function_at_its_defaults_is_the_reference(name):
    ex = REGISTRY[name]
    fn, method = FAITHFUL[name]
    cls = type(name, (ex.reference,), {method: variant("", "", fn, method).impl})
    assert ex.check(cls, verbose=False, save=False) is cls


@pytest.mark.parametrize("name", MODULES)
def test_from_reference_rebuilds_the_same_module(name):
    ex = REGISTRY[name]
    rebuilt = ex.from_reference(ex.reference(**ex.kwargs))
    assert {k: rebuilt[k] for k in ex.kwargs} == ex.kwargs


def test_wrong_names_list_missing_and_unexpected_keys(solutions):
    ns = solutions["06_postnet"]
    source = _cell(ns, "Postnet").replace("self.convs", "self.layers")
    cls = _redefine(ns, "Postnet", source, "renamed")
    with pytest.raises(CheckFailed, match="names and shapes") as e:
        REGISTRY["Postnet"].check(cls, verbose=False, save=False)
    assert "missing (tacolib has them, yours does not): convs.0.weight (6, 4, 5)" in str(e.value)
    assert "unexpected (yours has them, tacolib does not): layers.0.weight" in str(e.value)


def test_missing_attribute_is_named(solutions):
    ns = solutions["05_decoder"]
    cls = _redefine(ns, "Prenet", _cell(ns, "Prenet").replace("self.dropout_in_eval = True", ""), "no-flag")
    with pytest.raises(CheckFailed, match="attribute `dropout_in_eval`"):
        REGISTRY["Prenet"].check(cls, verbose=False, save=False)


def test_a_detached_output_is_named(solutions):
    ns = solutions["06_postnet"]
    cls = _redefine(ns, "Postnet", _cell(ns, "Postnet").replace("return mel + x.transpose(1, 2)", "return (mel + x.transpose(1, 2)).detach()"), "detached")
    with pytest.raises(CheckFailed, match="no gradient flows back"):
        REGISTRY["Postnet"].check(cls, verbose=False, save=False)


def test_an_exception_in_the_learners_module_is_reported(solutions):
    ns = solutions["05_decoder"]
    cls = _redefine(ns, "Decoder", _cell(ns, "Decoder").replace("torch.cat([s, context], dim=-1)", "torch.cat([s, context], dim=0)"), "raises")
    with pytest.raises(CheckFailed, match="your module raised RuntimeError"):
        REGISTRY["Decoder"].check(cls, verbose=False, save=False)


# ---- saving, and the learner's model --------------------------------------------------------


def test_a_passing_module_is_saved_with_the_cells_it_calls(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TACOLIB_LEARNER_DIR", str(tmp_path))
    run_exercise_cells(ROOT / "solutions" / "04_attention.ipynb", verbose=True)
    assert "saved for notebook 08" in capsys.readouterr().out
    text = (tmp_path / "LocationSensitiveAttention.py").read_text()
    for cell in ("location_features", "attention_energies", "masked_softmax", "LocationSensitiveAttention"):
        assert f"# ---- cell: {cell} ----" in text
    assert passed(tmp_path)["LocationSensitiveAttention"]["file"] == "LocationSensitiveAttention.py"
    assert passed(tmp_path)["masked_softmax"]["notebook"] == "04_attention"
    cls, note = load_saved("LocationSensitiveAttention", tmp_path)
    assert cls is not None and cls is not REGISTRY["LocationSensitiveAttention"].reference and note.startswith("yours"), note


def test_a_cell_that_needs_other_notebook_variables_is_not_saved(tmp_path, monkeypatch, capsys, solutions):
    monkeypatch.setenv("TACOLIB_LEARNER_DIR", str(tmp_path))
    ns = dict(solutions["06_postnet"], P_DROP=0.5)
    source = _cell(ns, "Postnet").replace("self.dropout = dropout", "self.dropout = dropout * P_DROP / 0.5")
    cls = _redefine(ns, "Postnet", source, "global")
    assert REGISTRY["Postnet"].check(cls) is cls  # right in the notebook...
    out = capsys.readouterr().out
    assert "not saved for notebook 08" in out and "NameError" in out, out  # ...but not rebuildable from its cell
    assert not (tmp_path / "Postnet.py").exists()


def test_a_box_notebook_08_does_not_use_is_not_saved(tmp_path, monkeypatch, solutions):
    monkeypatch.setenv("TACOLIB_LEARNER_DIR", str(tmp_path))
    cls = solutions["11_wavenet"]["CausalDilatedLayer"]
    assert REGISTRY["CausalDilatedLayer"].check(cls, verbose=False) is cls
    assert not (tmp_path / "CausalDilatedLayer.py").exists() and passed(tmp_path)["CausalDilatedLayer"]["file"] is None


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A learner folder holding the solutions' modules of notebooks 03-07, saved as their checks do."""
    folder = tmp_path_factory.mktemp("learner")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TACOLIB_LEARNER_DIR", str(folder))
        for nb in sorted(set(NOTEBOOKS.values())):
            run_exercise_cells(nb)
    return folder


def test_learner_model_is_built_from_the_saved_modules(installed):
    from tacolib.model import Tacotron2
    from tacolib.overfit import overfit_config

    cfg = overfit_config("tiny", coarse=2)
    torch.manual_seed(0)
    model, report = learner_model(cfg, installed)
    after_mine = torch.rand(1)
    torch.manual_seed(0)
    ref = Tacotron2(cfg)
    after_ref = torch.rand(1)
    assert report.yours == [box for box, _ in BOXES] and not report.tacolibs, str(report)
    assert type(model.decoder.attention).__module__.startswith("tacolib_learner_")
    assert type(model.decoder).step is not type(ref.decoder).step
    # tacolib's initial weights, and the RNG left as Tacotron2(cfg) leaves it
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), ref.state_dict().values()))
    assert torch.equal(after_mine, after_ref)
    criterion, loss_report = learner_loss(cfg, installed)
    assert loss_report.yours == ["loss"] and type(criterion).__module__.startswith("tacolib_learner_")


def test_the_learners_step_is_what_training_runs(installed):
    """Decoder.forward must call self.step: a faster training path may not bypass the learner's step."""
    from tacolib.overfit import overfit_config

    cfg = overfit_config("tiny", coarse=2)
    model, _ = learner_model(cfg, installed)
    calls = []
    step = type(model.decoder).step
    type(model.decoder).step = lambda self, *a, **k: calls.append(1) or step(self, *a, **k)
    try:
        B, T_in, T_dec = 2, 7, 4
        batch = {"text": torch.randint(2, 20, (B, T_in)), "text_lengths": torch.tensor([7, 5]),
                 "mel": torch.randn(B, T_dec * cfg.model.r, cfg.audio.n_mels)}
        model.train()(batch)
    finally:
        type(model.decoder).step = step
    assert len(calls) == T_dec


def test_stale_or_broken_saved_modules_are_replaced_and_reported(installed, tmp_path):
    from tacolib.overfit import overfit_config

    for f in installed.iterdir():
        (tmp_path / f.name).write_text(f.read_text())
    post = tmp_path / "Postnet.py"
    post.write_text(post.read_text().replace("return mel + x.transpose(1, 2)", "return x.transpose(1, 2)"))
    (tmp_path / "Prenet.py").write_text("class Prenet(:\n")
    (tmp_path / "Encoder.py").unlink()
    model, report = learner_model(overfit_config("tiny", coarse=2), tmp_path)
    notes = {box: note for box, _, _, note in report.rows}
    assert report.tacolibs == ["encoder", "decoder.prenet", "postnet"], str(report)
    assert "no longer passes its check" in notes["postnet"] and "no residual" not in notes["postnet"]
    assert "does not run (SyntaxError" in notes["decoder.prenet"]
    assert notes["encoder"].startswith("not done yet (notebook 03_encoder)")
    assert "tacolib's: not done yet" in str(report) and "4 of 7 yours." in str(report)
    from tacolib.model import Postnet

    assert type(model.postnet) is Postnet and type(model.decoder.prenet).__module__ == "tacolib.model.prenet"


@pytest.mark.slow
def test_the_model_built_from_the_solutions_aligns(installed):
    """The capstone, CI-sized: notebook 08's recipe on the learner's model, loss and training step (the solutions')."""
    from tacolib.metrics import ALIGNED, is_aligned
    from tacolib.overfit import OVERFIT_LR, overfit, overfit_config, pick_batch
    from tacolib.overfit import train_step as tacolib_step

    step = run_exercise_cells(ROOT / "solutions" / "08_single_batch_overfit.ipynb", save=False)["train_step"]
    assert step is not tacolib_step and step.__code__.co_filename.startswith("<cell 08_single_batch_overfit")
    cfg = overfit_config("tiny", coarse=2)
    batch = pick_batch(cfg, n=4)
    torch.manual_seed(0)
    model, report = learner_model(cfg, installed)
    criterion, loss_report = learner_loss(cfg, installed)
    assert len(report.yours) == len(BOXES) and loss_report.yours
    hist = overfit(model, batch, cfg, steps=300, lr=OVERFIT_LR, criterion=criterion, until=ALIGNED, patience=5,
                   snapshot_every=0, progress=False, step_fn=step)
    assert hist.aligned_step is not None, f"did not align in {len(hist.steps)} steps; last metrics {hist.final_metrics}"
    assert is_aligned(hist.final_metrics) and hist.final_loss < 0.5 * hist.losses["loss"][0]


def test_the_trainer_trains_the_learners_model(installed, tmp_path):
    """Notebook 09's USE_MY_MODEL: the trainer runs the learner's model; its checkpoints load into tacolib's."""
    from tacolib import checkpoint as ckpt
    from tacolib.config import get_config
    from tacolib.corpus import tinyspeech
    from tacolib.data import TTSDataset
    from tacolib.model import Tacotron2
    from tacolib.train import Trainer

    cfg = get_config("tiny").override([
        "model.symbols_embedding_dim=32", "model.encoder_embedding_dim=32", "model.attention_dim=16", "model.attention_rnn_dim=32",
        "model.decoder_rnn_dim=32", "model.prenet_dim=32", "model.postnet_embedding_dim=32", "model.max_decoder_steps=20",
        "train.batch_size=4", "train.val_every=2", "train.ckpt_every=2",
    ])
    corpus = tinyspeech.build("fast", progress=False)
    ids = TTSDataset(corpus, cfg, split="train", cache_dir=None).ids[:8]
    train, test = TTSDataset(corpus, cfg, ids=ids).preprocess(False), TTSDataset(corpus, cfg, split="test").preprocess(False)
    model, report = learner_model(cfg, installed)
    assert len(report.yours) == len(BOXES)
    trainer = Trainer(cfg, tmp_path / "run", train, test, model=model, device="cpu", n_infer=2, progress=False, tensorboard=False)
    result = trainer.fit(max_steps=2)
    assert result["status"] == "done" and trainer.model is model and trainer.history["val"]
    Tacotron2(cfg).load_state_dict(ckpt.load_checkpoint(result["checkpoint"])["model"])


def test_only_the_cells_definitions_are_saved(tmp_path, monkeypatch, solutions):
    """A check call or a plot in the exercise cell is not rerun when notebook 08 rebuilds the class."""
    monkeypatch.setenv("TACOLIB_LEARNER_DIR", str(tmp_path))
    ns = dict(solutions["06_postnet"])
    source = _cell(ns, "Postnet") + "\n\nSCALE = 2.0\nprint('a statement of the cell')\nPostnet = check_postnet(Postnet)\n"
    cls = _redefine(dict(ns, check_postnet=lambda c: c), "Postnet", source, "with-check")
    assert REGISTRY["Postnet"].check(cls, verbose=False) is cls
    text = (tmp_path / "Postnet.py").read_text()
    assert "# EXERCISE: Postnet" in text and "SCALE = 2.0" in text and "class Postnet" in text
    assert "print(" not in text and "check_postnet" not in text
