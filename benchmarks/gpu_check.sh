#!/usr/bin/env bash
# GPU proof for tacolib, in one run of at most 8 minutes on one CUDA GPU, written to one JSON file.
#
#     benchmarks/gpu_check.sh [OUT.json]             # on a machine with a GPU and tacolib installed
#     benchmarks/gpu_check.sh --dry-run [OUT.json]   # the same steps at toy sizes on CPU (~2 min)
#
# Sections (each under its own time limit; a failed section records its error and the
# run goes on):
#   inference   paper preset, 100 symbols, exactly 500 decoder steps: ms per step in
#               float32 and under autocast (bfloat16 where supported, else float16)
#   training    paper preset, batch 32, LJSpeech-shaped random batches (150 symbols,
#               600 frames): steps/s with train.amp off and on
#   ddp         a 1-process torchrun run that trains, saves, and resumes from its
#               checkpoint to a later step (tacolib joins a process group, NCCL or
#               gloo, only when WORLD_SIZE > 1: this checks the launcher path)
#   ljspeech    a few hundred steps of the paper preset on the 32-utterance LJSpeech
#               sample (TACOLIB_LJSPEECH_SAMPLE, default ../shared/ljspeech-sample),
#               stopped (and saved) after 2.5 minutes if not done: the mean loss of
#               the last 20 steps against the first 20
# Environment: PYTHON (default .venv/bin/python, else python3), GPU_CHECK_LJ_STEPS
# (default 200), GPU_CHECK_KEEP=1 keeps the work folder. Mels, runs and logs go to a
# temporary folder (removed at the end), never into the checkout.
set -uo pipefail

DRY=0
if [ "${1:-}" = "--dry-run" ]; then DRY=1; shift; fi
OUT_JSON=$(realpath -m "${1:-gpu_check.json}")  # before the cd below
cd "$(dirname "$0")/.." || exit 2  # the repository root: benchmarks/ and .venv are found from here
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
TORCHRUN="$(dirname "$PY")/torchrun"
[ -x "$TORCHRUN" ] || TORCHRUN="$PY -m torch.distributed.run"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
[ "${GPU_CHECK_KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
mkdir "$WORK/tmp" && export TMPDIR="$WORK/tmp"  # torchrun's and Python's temporaries go there too
export TACOLIB_DATA="$WORK/data" PYTHONUNBUFFERED=1
SAMPLE=$("$PY" -c "import tacolib; p = tacolib.ljspeech_sample_dir(); print(p or '')")
START=$(date +%s)
echo "# gpu_check: dry_run=$DRY, python $PY, work folder $WORK, LJSpeech sample: ${SAMPLE:-absent}"

if [ "$DRY" = 1 ]; then
  DEVICE=cpu; PRESET_OVERRIDES="model.symbols_embedding_dim=32 model.encoder_embedding_dim=32 model.attention_dim=16 model.attention_rnn_dim=32 model.decoder_rnn_dim=32 model.prenet_dim=32 model.postnet_embedding_dim=32"
  LJ_STEPS=6; DDP_STEPS=4; LJ_BATCH=4; LIMIT_SPEED=300; LIMIT_DDP=120; LJ_SECONDS=240; export TACOLIB_THREADS=1 OMP_NUM_THREADS=1
else  # limits: 150 + 2 x 50 + (150 + 45) = 445 s, plus ~15 s for the two short Python calls: under 8 minutes
  DEVICE=cuda; PRESET_OVERRIDES=""; LJ_STEPS=${GPU_CHECK_LJ_STEPS:-200}; DDP_STEPS=10; LJ_BATCH=16; LIMIT_SPEED=150; LIMIT_DDP=50; LJ_SECONDS=150
fi
LJ_MINUTES=$(awk "BEGIN { print $LJ_SECONDS / 60 }")
LIMIT_LJ=$(( LJ_SECONDS + 45 ))  # training stops itself (and saves) after LJ_MINUTES; the margin covers start-up (CUDA, mels); the limit is the safety net
SETS=(); for s in $PRESET_OVERRIDES; do SETS+=(--set "$s"); done

# ---- inference and training throughput (one Python process) --------------------------------
timeout "$LIMIT_SPEED" "$PY" - "$WORK/speed.json" "$DEVICE" "$DRY" "$PRESET_OVERRIDES" <<'PYEOF'
import json, sys, tempfile, time, traceback
import torch
import tacolib
sys.path.insert(0, "benchmarks")
from train_step import make_batch
from tacolib.model import Tacotron2
from tacolib.train import Trainer

out_path, device, dry, overrides = sys.argv[1], torch.device(sys.argv[2]), sys.argv[3] == "1", sys.argv[4].split()
result = {"torch": torch.__version__, "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu (dry run)"}
cfg = tacolib.get_config("paper").override(overrides)
tacolib.setup(seed=0, threads=1 if dry else None)

def sync():
    if device.type == "cuda":
        torch.cuda.synchronize()

def save():  # after each section: a section cut by the time limit keeps the ones before it
    json.dump(result, open(out_path, "w"), indent=2)

amp_dtype = torch.bfloat16 if device.type == "cpu" or torch.cuda.is_bf16_supported() else torch.float16
try:  # inference: exactly n decoder steps, best of 3
    n = 20 if dry else 500
    model = Tacotron2(cfg).to(device).eval()
    ids = torch.randint(2, cfg.text.n_symbols, (1, 100), device=device)
    ids[:, -1] = 1
    res = {"symbols": 100, "decoder_steps": n}
    for name, enabled in (("fp32", False), ("autocast_" + str(amp_dtype).split(".")[-1], True)):
        best = float("inf")
        for _ in range(4):  # the first is a warm-up
            sync()
            t = time.perf_counter()
            with torch.autocast(device.type, dtype=amp_dtype, enabled=enabled):
                model.inference(ids, max_decoder_steps=n, stop_on_gate=False)
            sync()
            best = min(best, time.perf_counter() - t)
        res[f"{name}_ms_per_step"] = round(best / n * 1e3, 3)
    result["inference"] = res
except Exception as e:  # record and go on
    result["inference"] = {"error": repr(e), "trace": traceback.format_exc()[-2000:]}
save()

try:  # training steps/s at batch 32, amp off and on
    B, T_in, T_out, n = (4, 20, 40, 3) if dry else (32, 150, 600, 10)
    batches = [make_batch(cfg, B, T_in, T_out, seed=k) for k in range(2)]
    res = {"batch": B, "symbols": T_in, "frames": T_out, "timed_steps": n}
    for amp in (False, True):
        trainer = Trainer(cfg.override({"train.amp": amp, "train.batch_size": B}), tempfile.mkdtemp(dir=sys.argv[1].rsplit("/", 1)[0]),
                          train_set=[0], val_set=[0], device=device, tensorboard=False, progress=False, collate_fn=lambda x: x)
        for k in range(2):
            trainer.train_step(batches[k % 2])
        sync()
        t = time.perf_counter()
        for k in range(n):
            record = trainer.train_step(batches[k % 2])
        sync()
        key = "amp" if amp else "fp32"
        res[f"{key}_steps_per_s"] = round(n / (time.perf_counter() - t), 3)
        res[f"{key}_amp_active"] = trainer.amp
        res[f"{key}_last_loss"] = round(record["loss"], 4)
        if device.type == "cuda":
            res[f"{key}_peak_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
            torch.cuda.reset_peak_memory_stats()
    result["training"] = res
except Exception as e:
    result["training"] = {"error": repr(e), "trace": traceback.format_exc()[-2000:]}
save()
PYEOF
echo "# speed sections done after $(( $(date +%s) - START )) s"

# ---- a 1-process torchrun run that saves, then resumes ------------------------------------------
if [ -n "$SAMPLE" ]; then DATA=(--set data.corpus=ljspeech --set "data.path=$SAMPLE"); else DATA=(--set data.size=fast); fi
DDP_OUT="$WORK/ddp"
DDP_ARGS=(-m tacolib train --preset paper --out "$DDP_OUT" --no-progress --no-tensorboard --device "$DEVICE" "${SETS[@]}" "${DATA[@]}"
          --set train.batch_size=4 --set train.val_every=0 --set "train.ckpt_every=$DDP_STEPS" --set train.log_every=1)
timeout "$LIMIT_DDP" $TORCHRUN --nproc_per_node 1 --master_addr 127.0.0.1 --master_port 29517 "${DDP_ARGS[@]}" --max-steps "$DDP_STEPS" >"$WORK/ddp1.log" 2>&1
DDP1=$?
timeout "$LIMIT_DDP" $TORCHRUN --nproc_per_node 1 --master_addr 127.0.0.1 --master_port 29518 "${DDP_ARGS[@]}" --max-steps $((2 * DDP_STEPS)) --resume >"$WORK/ddp2.log" 2>&1
DDP2=$?
echo "# ddp section done after $(( $(date +%s) - START )) s (exit codes $DDP1, $DDP2)"

# ---- a few hundred steps on the LJSpeech sample ---------------------------------------------------
LJ_OUT="$WORK/ljspeech"
LJ=skipped
if [ -n "$SAMPLE" ]; then
  timeout "$LIMIT_LJ" "$PY" -m tacolib train --preset paper --out "$LJ_OUT" --no-progress --no-tensorboard --device "$DEVICE" "${SETS[@]}" \
    --set data.corpus=ljspeech --set "data.path=$SAMPLE" --set "train.batch_size=$LJ_BATCH" --set train.val_every=0 \
    --set "train.ckpt_every=$LJ_STEPS" --set train.log_every=1 --max-steps "$LJ_STEPS" --minutes "$LJ_MINUTES" >"$WORK/ljspeech.log" 2>&1
  LJ=$?
fi
echo "# ljspeech section done after $(( $(date +%s) - START )) s (exit $LJ)"

# ---- one JSON ---------------------------------------------------------------------------------------
"$PY" - "$WORK" "$OUT_JSON" "$DDP1" "$DDP2" "$DDP_STEPS" "$LJ" "$LJ_STEPS" "$DRY" "$START" <<'PYEOF'
import json, sys, time
from pathlib import Path
from tacolib.checkpoint import load_checkpoint

work, out, ddp1, ddp2, ddp_steps, lj, lj_steps, dry, start = sys.argv[1:]
work, ddp_steps, lj_steps = Path(work), int(ddp_steps), int(lj_steps)
speed = work / "speed.json"
result = json.loads(speed.read_text()) if speed.is_file() else {"speed_error": "the speed sections did not finish (time limit?)"}
result["dry_run"] = dry == "1"

def tail(name):
    p = work / name
    return p.read_text()[-1500:] if p.is_file() else ""

ddp = {"first_exit": int(ddp1), "resume_exit": int(ddp2), "world_size": 1,
       "note": "one process: tacolib joins no process group (WORLD_SIZE=1); checks torchrun's launch, the save and the resume"}
try:
    state = load_checkpoint(work / "ddp" / "checkpoints")
    steps = [r["step"] for r in state["history"]["train"]]
    ddp.update(final_step=state["step"], train_records=len(steps), first_checkpoint=(work / "ddp" / "checkpoints" / f"step_{ddp_steps:08d}.pt").is_file())
    ddp["ok"] = bool(int(ddp1) == 0 and int(ddp2) == 0 and state["step"] == 2 * ddp_steps and steps == list(range(1, 2 * ddp_steps + 1)))
except Exception as e:
    ddp.update(ok=False, error=repr(e), log_first=tail("ddp1.log"), log_resume=tail("ddp2.log"))
result["ddp"] = ddp

if lj == "skipped":
    result["ljspeech"] = {"skipped": "LJSpeech sample not found (set TACOLIB_LJSPEECH_SAMPLE)"}
else:
    res = {"exit": int(lj), "steps": lj_steps}
    try:
        losses = [r["loss"] for r in load_checkpoint(work / "ljspeech" / "checkpoints")["history"]["train"]]
        k = min(20, max(1, len(losses) // 3))
        first, last = sum(losses[:k]) / k, sum(losses[-k:]) / k
        res.update(steps_done=len(losses), first_mean=round(first, 4), last_mean=round(last, 4), window=k, loss_falls=bool(last < first))
    except Exception as e:
        res.update(error=repr(e), log=tail("ljspeech.log"))
    result["ljspeech"] = res
result["wall_s"] = round(time.time() - int(start), 1)
Path(out).write_text(json.dumps(result, indent=2))
print(json.dumps(result, indent=2))
PYEOF
