"""The online rule of `nengo_pc.pc.online`, computed without simulating the network.

`~nengo_pc.pc.online.train_online` presents every image to the Nengo network, whose
`~nengo_pc.networks.learning.LocalPC` rules change the weights by the local product
of presynaptic activity and postsynaptic error that the network's clamped phase
produces, summed over the minibatch. `train_online_vectorised` applies the same rule
(``pc-online`` of `nengo_pc.rules.local`) with the same schedule (data order,
minibatches, per-example step ``learning_rate * learn_time``, rate decay,
evaluations) to the PC network's equilibrium as the vectorised core computes it
(`nengo_pc.pc.core.standard_updates`: inference from the feedforward pass, output
clamped, ``n_steps`` steps of ``step_size``), 30-40 times faster than the simulated
network on a quiet 2-core CPU (2026-11-26: ~1,000-1,300 images/s against ~31-34 for
the spiking 784-500-10 network). It is the training loop of `nengo_pc.training`
with the vectorised backend, plain SGD in float64 and a sample-counted run; this
function only speaks online learning's vocabulary.

What it is for: telling the limits of the rule and its settings apart from those of the
network that runs it. ``rule="bp-mse"`` applies, with the same schedule, the exact
gradient of the summed squared output error instead (`nengo_pc.pc.core.backprop`):
plain minibatch SGD with this step, which tells the limits of the rule apart from those
of the schedule. Measured 2026-11-25 (784-500-10 relu, batch 10, per-example step
0.006 decaying over 20,000 samples, seed 0, first 2,000 test images): the NengoDL
network in rate mode and this function learn alike (80.2 / 85.1 / 86.7 / 88.4% and
80.6 / 85.1 / 86.5 / 87.9% after 2,500 / 5,000 / 7,500 / 10,000 images), their summed
updates over 200 images at the same parameters have cosine 0.99; so what the rule
reaches here, the network's rate mode reaches.
"""

from nengo_pc.arch import Architecture
from nengo_pc.pc.online import OnlineResult, online_history
from nengo_pc.training.config import require_positive

#: What `train_online_vectorised` applies: the PC network's local rule, or backprop
#: of the squared error (registry names, `nengo_pc.rules`).
RULES = ("pc-online", "bp-mse")


def train_online_vectorised(
    arch,
    train,
    *,
    params=None,
    learning_rate=0.2,
    lr_decay_samples=None,
    batch_size=20,
    n_samples=None,
    epochs=1,
    learn_time=0.03,
    output_precision=1.0,
    n_steps=20,
    step_size=0.1,
    eval_split=None,
    eval_every=10000,
    seed=0,
    progress=True,
    rule="pc-online",
):
    """Online PC learning as `~nengo_pc.pc.online.train_online` does it, vectorised.

    Parameters
    ----------
    arch, train, params, learning_rate, lr_decay_samples, batch_size, n_samples, \
epochs, learn_time, output_precision, eval_split, eval_every, seed, progress
        As for `~nengo_pc.pc.online.train_online` (``learning_rate * learn_time`` is
        the per-example step; ``learn_time`` plays no other part here).
    n_steps : int
        Inference steps from the feedforward pass with the output clamped (>= 1).
    step_size : float
        Inference step size (> 0). The default 20 steps of 0.1 relax close to the
        equilibrium that the network reaches in its settle and learning phases.
    rule : {"pc-online", "bp-mse"}
        ``"pc-online"``: the local rule at the relaxed equilibrium. ``"bp-mse"``:
        the reference, -dL/dW of L = sum ||y - y_hat||^2 / 2 over the minibatch,
        with the same step and schedule (``n_steps``, ``step_size`` and
        ``output_precision`` play no part).

    Returns
    -------
    OnlineResult
        As `train_online`'s (``build_seconds`` 0; ``train_accuracy`` from the
        feedforward pass before each minibatch's update; no spiking entries).
    """
    from nengo_pc import rules
    from nengo_pc.training import TrainConfig, train as train_loop

    if not isinstance(arch, Architecture):
        raise ValueError(f"arch: expected an Architecture, got {type(arch).__name__}")
    if rule not in RULES:
        raise ValueError(f"rule: must be one of {RULES}, got {rule!r}")
    learning_rate = require_positive("learning_rate", learning_rate)
    learn_time = require_positive("learn_time", learn_time)
    # checked for either rule: they are arguments of this function
    options = rules.get("pc-online").check_options(
        n_steps=n_steps, step_size=step_size, output_precision=output_precision)
    if rule != "pc-online":
        options = {}
    n_train = len(train[0]) if isinstance(train, tuple) else len(
        getattr(train, "images", ()))
    if n_samples is None and n_train and isinstance(epochs, int) and not isinstance(epochs, bool) \
            and epochs >= 1:
        n_samples = epochs * n_train
    config = TrainConfig(
        rule=rule, options=options, epochs=epochs, n_samples=n_samples,
        batch_size=batch_size,
        # online learning steps every example by learning_rate * learn_time; the
        # loop's rate acts on minibatch means
        learning_rate=learning_rate * learn_time * batch_size
        if isinstance(batch_size, int) else learning_rate,
        lr_schedule="constant" if lr_decay_samples is None else "inverse_time",
        lr_decay_samples=lr_decay_samples, optimizer="sgd", eval_every=eval_every,
        seed=seed, dtype="float64")
    result = train_loop(arch, train, config, backend="vectorised",
                        validation=eval_split, params=params, progress=progress)
    history = online_history(result.history)
    summary = {
        "arch": arch.to_dict(), "vectorised": True, "rule": rule,
        "learning_rate": learning_rate, "lr_decay_samples": lr_decay_samples,
        "batch_size": batch_size, "n_samples": config.n_samples // batch_size
        * batch_size, "epochs": epochs, "learn_time": learn_time,
        "output_precision": output_precision, "n_steps": n_steps,
        "step_size": step_size,
        "n_eval": None if eval_split is None else len(eval_split),
        "eval_every": eval_every, "seed": seed,
        "per_example_step": learning_rate * learn_time,
    }
    return OnlineResult(result.params, history, summary, 0.0, history[-1]["seconds"],
                        0.0)
