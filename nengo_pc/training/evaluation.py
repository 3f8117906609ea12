"""Classifying with trained parameters, the way each rule's network classifies."""

import sys
import time

import numpy as np

from nengo_pc.training.config import require_int


def log_progress(message):
    """One progress line on stderr (flushed, so logs of background runs stay live)."""
    print(message, file=sys.stderr, flush=True)


def check_split(name, split, arch):
    """Raise ValueError naming ``name`` unless ``split`` fits ``arch``.

    The images must be flattened to ``(N, arch.sizes[0])`` and the labels index
    the network's outputs.
    """
    if split.images.ndim != 2 or split.images.shape[1] != arch.sizes[0]:
        raise ValueError(
            f"{name}: images must be flattened to (N, {arch.sizes[0]}), "
            f"got {split.images.shape}"
        )
    if split.labels.max() >= arch.sizes[-1]:
        raise ValueError(
            f"{name}: labels go up to {split.labels.max()} but the network has "
            f"{arch.sizes[-1]} outputs"
        )


def classification_metrics(logits, labels):
    """Accuracy and mean softmax cross-entropy of ``logits`` against integer labels."""
    logits = np.asarray(logits, dtype=np.float64)
    if not np.all(np.isfinite(logits)):
        raise FloatingPointError(
            "the network produced non-finite outputs (the training diverged; "
            "try a smaller learning_rate)"
        )
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(len(labels)), labels].mean()
    accuracy = float(np.mean(np.argmax(logits, axis=1) == labels))
    return {"accuracy": accuracy, "loss": float(loss)}


def rule_outputs(arch, params, images, rule="backprop", options=None,
                 batch_size=2000):
    """Outputs of the network a rule trained: the feedforward pass (numpy), or for
    the energy-based rules the end of the free phase of ``options["n_steps"]``
    sweeps.

    Parameters
    ----------
    arch : Architecture
    params : Params
    images : ndarray
        Flattened inputs (N, n_in).
    rule : str or Rule
        A registered rule.
    options : dict, optional
        The rule's options (default: its defaults for ``arch``).
    batch_size : int
        Examples per pass (bounds memory).

    Returns
    -------
    ndarray
        (N, n_out), float64.
    """
    from nengo_pc import rules
    from nengo_pc.rates import forward

    rule = rules.get(rule)
    if rule.prediction == "feedforward":
        def predict(x):
            return forward(arch, params, x)
    else:
        import tensorflow as tf

        from nengo_pc.pc.baselines import free_phase_output

        n_steps = (options or rule.check_options(arch))["n_steps"]
        weights = [tf.constant(np.asarray(w, np.float32)) for w in params.weights]
        biases = [tf.constant(np.asarray(b, np.float32)) for b in params.biases]

        def predict(x):
            y_hat = free_phase_output(weights, biases,
                                      tf.constant(np.asarray(x, np.float32)),
                                      arch.activation, n_steps)
            return y_hat.numpy().astype(np.float64)
    return np.concatenate([predict(images[i:i + batch_size])
                           for i in range(0, len(images), batch_size)])


def evaluate_rule(arch, params, split, rule="backprop", options=None):
    """Classify ``split`` as the network ``rule`` trained classifies (`rule_outputs`).

    Returns
    -------
    dict
        ``accuracy``, ``loss`` (mean softmax cross-entropy), ``squared_error`` (mean
        ``||one_hot - output||^2 / 2``, the loss of the squared-error rules) and
        ``n_examples``.
    """
    check_split("split", split, arch)
    outputs = rule_outputs(arch, params, split.images, rule, options)
    metrics = classification_metrics(outputs, split.labels)
    targets = np.eye(arch.sizes[-1])[split.labels]
    metrics.update(
        squared_error=float(np.mean(np.sum((targets - outputs) ** 2, axis=1)) / 2),
        n_examples=len(split))
    return metrics


def predict_logits(arch, params, images, *, backend="nengo_dl", batch_size=500, seed=0,
                   presentation=None):
    """Output of the feedforward network for flattened ``images``, ``(N, n_out)``.

    Arguments as in `evaluate`.
    """
    from nengo_pc.training.backends import EVAL_BACKENDS

    require_int("batch_size", batch_size, low=1)
    if backend not in EVAL_BACKENDS:
        raise ValueError(f"backend: {backend!r} is not one of "
                         f"{', '.join(EVAL_BACKENDS)}")
    if presentation is not None and arch.activation != "lif":
        raise ValueError(
            f"presentation: spiking mode needs 'lif' neurons, the network uses "
            f"{arch.activation!r}"
        )
    # never a minibatch larger than the images (NengoDL pads to whole minibatches)
    batch_size = max(1, min(batch_size, len(images)))
    cls = EVAL_BACKENDS[backend]
    options = {"training": False} if backend == "nengo_dl" else {}
    model = cls(arch, params, batch_size, seed, False, presentation=presentation,
                **options)
    try:
        return model.predict(np.asarray(images))
    finally:
        model.close()


def evaluate(arch, params, split, *, backend="nengo_dl", batch_size=500, seed=0,
             presentation=None):
    """Classify a data split with the feedforward network and trained parameters.

    Parameters
    ----------
    arch : Architecture
    params : Params
    split : nengo_pc.data.Split
    backend : str
        ``"nengo_dl"`` runs the Nengo network in ``nengo_dl.Simulator``, ``"nengo"``
        in the Nengo reference simulator, ``"keras"`` the Keras model.
    batch_size : int
        Images per simulator call.
    seed : int
        Simulator seed.
    presentation : nengo_pc.networks.presentation.Presentation, optional
        Run spiking (LIF networks), holding each image for ``presentation.n_steps``.
        Default: rate mode, one step per image (LIF neurons as `nengo.LIFRate`).

    Returns
    -------
    dict
        ``accuracy``, ``loss``, ``n_examples``, ``seconds``, ``images_per_second``.
    """
    check_split("split", split, arch)
    t0 = time.perf_counter()
    logits = predict_logits(arch, params, split.images, backend=backend,
                            batch_size=batch_size, seed=seed, presentation=presentation)
    seconds = time.perf_counter() - t0
    metrics = classification_metrics(logits, split.labels)
    metrics.update(
        n_examples=len(split),
        seconds=seconds,
        images_per_second=len(split) / seconds if seconds > 0 else float("inf"),
    )
    return metrics


def compare_with_reference(arch, params, split, presentation, seed=0):
    """Run ``split`` spiking in NengoDL and in the Nengo reference simulator.

    Both simulators run the same `FeedforwardNetwork` with the same
    ``presentation``; the reference simulator (one image at a time) is the check
    that NengoDL simulates the network faithfully.

    Returns
    -------
    metrics : dict
        ``reference_agreement`` (fraction of images given the same label),
        ``reference_accuracy`` and ``nengo_dl_accuracy_on_reference_subset``.
    seconds : float
        Time the reference simulator took.
    """
    dl_pred = predict_logits(arch, params, split.images, batch_size=len(split),
                             presentation=presentation, seed=seed).argmax(axis=1)
    t0 = time.perf_counter()
    ref_pred = predict_logits(arch, params, split.images, backend="nengo",
                              presentation=presentation, seed=seed).argmax(axis=1)
    seconds = time.perf_counter() - t0
    metrics = {
        "reference_agreement": float(np.mean(dl_pred == ref_pred)),
        "reference_accuracy": float(np.mean(ref_pred == split.labels)),
        "nengo_dl_accuracy_on_reference_subset": float(np.mean(dl_pred == split.labels)),
    }
    return metrics, seconds
