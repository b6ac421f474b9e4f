"""Exercise checks for the notebooks (cs231n style).

A notebook exercise is a function the learner writes. The check runs it on fixed
inputs next to tacolib's reference and then either

* passes, and hands back the learner's function;
* fails loudly with a :class:`CheckFailed` saying which case, which shape or which
  value, and by how much; or
* finds the body still raising ``NotImplementedError``, says so, and hands back the
  reference so the rest of the notebook keeps working.

Usage in a notebook::

    from tacolib.checks.audio import check_frame_signal

    def frame_signal(wav, frame_length, hop_length):
        ...  # the learner's code
    frame_signal = check_frame_signal(frame_signal)

A *procedure* (a training step, an iterative algorithm, a generator's step) is a function
exercise whose check runs it in a harness (``observe``) and names known-wrong variants
(:func:`mistake`) when the learner's answer behaves exactly like one.

A **module exercise** (notebooks 03-07 and 11) is a box of the model the learner writes as an
``nn.Module`` class; its check (:mod:`tacolib.checks.modules`) loads tacolib's weights
into it and compares outputs and gradients, names the likely cause of a difference,
and saves a passing class so that notebook 08 trains the learner's own Tacotron 2
(:func:`learner_model`, :mod:`tacolib.checks.learner`).

Topic modules (``tacolib.checks.audio``, ``.text``, ``.model``, ``.boxes``, ...) declare
their exercises with :func:`exercise` or :func:`module_exercise`; every declared
exercise lands in :data:`REGISTRY`, which the test suite walks to prove that each check
passes on the worked solution in ``solutions/`` and fails on wrong answers.
"""

from tacolib.checks.core import REGISTRY, CheckFailed, Exercise, Variant, assert_close, exercise, load_all, mistake
from tacolib.checks.learner import learner_loss, learner_model
from tacolib.checks.modules import module_exercise
from tacolib.checks.record import learner_dir, passed, record_pass

__all__ = [
    "CheckFailed", "Exercise", "Variant", "exercise", "mistake", "assert_close", "REGISTRY", "load_all",
    "module_exercise", "learner_model", "learner_loss", "learner_dir", "passed", "record_pass",
]
