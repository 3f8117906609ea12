"""Other biologically motivated learning rules, on TensorFlow tensors.

The baselines the predictive-coding rules are compared with, in the conventions of
`nengo_pc.pc.core`: every function takes the parameters as lists of tensors in Keras
layout (``weights[l - 1]`` is W_l with shape (n_{l-1}, n_l)), a batch ``x`` and
one-hot targets ``y``, and returns one (dW_l, db_l) per layer: changes to *add*,
summed over the batch, that approximate ``-dL/dW`` for the squared error
``L = sum_batch ||y - y_hat||^2 / 2``. Loops are over layers and relaxation steps
only, so everything runs eagerly and unrolls inside a ``tf.function``.

Feedforward rules (the network is the MLP of `nengo_pc.pc.core.feedforward`: input
not passed through f, linear output):

* `feedback_alignment_updates` (FA; Lillicrap et al. 2016): backprop with the error
  carried down through fixed random matrices B_l instead of W_l.
* `direct_feedback_alignment_updates` (DFA; Nokland 2016): the output error reaches
  every hidden layer directly through its own fixed random matrix D_l.

Energy-based rules, on a layered Hopfield-type network with the layer sizes of the
MLP (`free_phase` documents the energy and the dynamics):

* `eqprop_updates` (equilibrium propagation; Scellier & Bengio 2017), optionally
  with symmetric nudging (Laborieux et al. 2021);
* `chl_updates` (contrastive Hebbian learning; Movellan 1991, Xie & Seung 2003).

Their reference gradient is `free_phase_gradient`, backprop through time of the loss
at the end of the unrolled free phase (the quantity equilibrium propagation
approaches as beta -> 0 once the free phase has converged; Ernoult et al. 2019), and
an energy-based network classifies by its free phase (`free_phase_output`).

`random_feedback` draws the fixed matrices of FA and DFA. The settings each rule is
benchmarked with on MNIST (architecture, optimiser, options) are those of
`nengo_pc.pc.settings` (``RULE_ARCH``, ``RULE_OPTIONS``, ``benchmark_arch``,
``benchmark_config``).
"""

import numpy as np
import tensorflow as tf

from nengo_pc.pc.activations import get_activation

#: Rules whose errors travel through fixed random feedback matrices.
FEEDBACK_RULES = ("fa", "dfa")

#: Rules on the energy-based network (`free_phase`).
ENERGY_RULES = ("eqprop", "chl")

#: Hidden nonlinearities rho the energy-based network accepts: bounded and strictly
#: increasing, so that every layer's state stays in a bounded interval and the
#: energy (which contains the integral of rho^{-1}) exists. ReLU and linear units
#: would let the states, and the energy, run away to infinity.
ENERGY_ACTIVATIONS = ("sigmoid", "tanh")

# --- feedback alignment ---------------------------------------------------------

def random_feedback(sizes, rule, seed, dtype=np.float32):
    """Fixed random feedback matrices of FA or DFA.

    Parameters
    ----------
    sizes : sequence of int
        Layer sizes [n_0, ..., n_L] of the MLP.
    rule : str
        ``"fa"`` or ``"dfa"``.
    seed : int or sequence of int
        Seed of the numpy generator (`nengo_pc.rules.alignment` uses ``[seed, 2]``,
        a stream of its own, so the forward weights do not depend on it).
    dtype : numpy dtype
        Floating point type.

    Returns
    -------
    list of ndarray
        ``"fa"``: B_2, ..., B_L, shaped like W_2, ..., W_L, i.e. (n_{l-1}, n_l),
        normal with the He standard deviation ``sqrt(2 / n_{l-1})`` of the forward
        weights they stand in for. ``"dfa"``: D_1, ..., D_{L-1} with shape
        (n_L, n_l), normal with standard deviation ``sqrt(2 / n_l)``, so that the
        delta ``e D_l`` of a unit has the size backprop's ``e W_L^T`` has at the
        last hidden layer (He-initialised W_L). With SGD the scale sets each
        hidden layer's effective learning rate relative to the output layer's
        (an earlier ``sqrt(1 / n_L)``, 5x larger for 500-unit layers, diverged
        at learning rates FA trains well with); with Adam it does not matter.
    """
    if rule not in FEEDBACK_RULES:
        raise ValueError(f"rule: must be one of {FEEDBACK_RULES}, got {rule!r}")
    rng = np.random.default_rng(seed)
    sizes = [int(n) for n in sizes]
    if rule == "fa":
        shapes = [(sizes[l - 1], sizes[l]) for l in range(2, len(sizes))]
        stds = [np.sqrt(2.0 / n_in) for n_in, _ in shapes]
    else:
        shapes = [(sizes[-1], n) for n in sizes[1:-1]]
        stds = [np.sqrt(2.0 / n) for _, n in shapes]
    return [rng.normal(0.0, std, size=shape).astype(dtype)
            for shape, std in zip(shapes, stds)]


def _forward_with_preactivations(weights, biases, x, f):
    """Presynaptic activities [x, f(h_1), ..., f(h_{L-1})] and pre-activations."""
    activities, pre = [x], []
    for w, b in zip(weights, biases):
        h = tf.matmul(activities[-1], w) + b
        pre.append(h)
        activities.append(f(h))
    return activities[:-1], pre


def _check_feedback(feedback, expected, name):
    if len(feedback) != len(expected):
        raise ValueError(
            f"feedback: {name} needs {len(expected)} matrices, got {len(feedback)}"
        )
    for i, (matrix, shape) in enumerate(zip(feedback, expected)):
        if tuple(matrix.shape) != tuple(shape):
            raise ValueError(
                f"feedback: matrix {i} must have shape {tuple(shape)}, got "
                f"{tuple(matrix.shape)}"
            )


def _deltas_to_updates(activities, deltas):
    return [(tf.matmul(a, d, transpose_a=True), tf.reduce_sum(d, 0))
            for a, d in zip(activities, deltas)]


def feedback_alignment_updates(weights, biases, x, y, activation, feedback):
    """Feedback alignment (Lillicrap et al. 2016): BP with fixed random feedback.

    With pre-activations h_l, activities a_0 = x, a_l = f(h_l) and output
    y_hat = h_L, the deltas are

        delta_L = y - y_hat,    delta_l = (delta_{l+1} B_{l+1}^T) * f'(h_l),

    and the updates dW_l = a_{l-1}^T delta_l, db_l = sum_batch delta_l. With
    B_l = W_l this is exactly backprop (`nengo_pc.pc.core.backprop`).

    Parameters
    ----------
    weights, biases : list of tf.Tensor
        W_l (n_{l-1}, n_l) and b_l (n_l,).
    x, y : tf.Tensor
        Input (batch, n_0) and target (batch, n_L).
    activation : str or Activation
        Hidden nonlinearity f.
    feedback : list of tf.Tensor
        B_2, ..., B_L (L - 1 matrices), shaped like W_2, ..., W_L (see
        `random_feedback`); the first layer needs none.

    Returns
    -------
    list of (tf.Tensor, tf.Tensor)
        (dW_l, db_l) for l = 1..L.
    """
    _check_feedback(feedback, [w.shape for w in weights[1:]], "FA")
    act = get_activation(activation)
    activities, pre = _forward_with_preactivations(weights, biases, x, act.f)
    deltas = [y - pre[-1]]
    for l in range(len(weights) - 2, -1, -1):  # 0-based hidden layers, top down
        back = tf.matmul(deltas[0], feedback[l], transpose_b=True)
        deltas.insert(0, back * act.df(pre[l]))
    return _deltas_to_updates(activities, deltas)


def direct_feedback_alignment_updates(weights, biases, x, y, activation, feedback):
    """Direct feedback alignment (Nokland 2016): output error straight to each layer.

    With the notation of `feedback_alignment_updates`, e = y - y_hat and

        delta_L = e,    delta_l = (e D_l) * f'(h_l)  for 1 <= l < L,

    dW_l = a_{l-1}^T delta_l, db_l = sum_batch delta_l.

    Parameters
    ----------
    weights, biases, x, y, activation
        As for `feedback_alignment_updates`.
    feedback : list of tf.Tensor
        D_1, ..., D_{L-1} with shape (n_L, n_l) (see `random_feedback`).

    Returns
    -------
    list of (tf.Tensor, tf.Tensor)
        (dW_l, db_l) for l = 1..L.
    """
    n_out = weights[-1].shape[1]
    _check_feedback(feedback, [(n_out, w.shape[1]) for w in weights[:-1]], "DFA")
    act = get_activation(activation)
    activities, pre = _forward_with_preactivations(weights, biases, x, act.f)
    error = y - pre[-1]
    deltas = [tf.matmul(error, d) * act.df(h) for d, h in zip(feedback, pre[:-1])]
    return _deltas_to_updates(activities, deltas + [error])


# --- the energy-based network ------------------------------------------------------

def check_energy_activation(activation):
    """Raise ValueError naming ``activation`` unless it is in `ENERGY_ACTIVATIONS`.

    Returns
    -------
    Activation
    """
    name = activation.name if hasattr(activation, "name") else activation
    if name not in ENERGY_ACTIVATIONS:
        raise ValueError(
            f"activation: the energy-based rules (eqprop, chl) need a bounded hidden "
            f"nonlinearity, one of {ENERGY_ACTIVATIONS}, got {name!r}"
        )
    return get_activation(activation)


def _output_state(drive, y, beta):
    """The output state minimising its part of E + beta C, given its drive."""
    if beta is None:  # clamped
        return y
    if isinstance(beta, (int, float)) and beta == 0:
        return drive
    return (drive + beta * y) / (1.0 + beta)


def _sweep(states, weights, biases, input_drive, rho, y, beta):
    """One relaxation step: odd layers, then even layers, each to its minimiser."""
    n_layers = len(weights)
    states = list(states)
    for parity in (1, 0):
        for l in range(1, n_layers + 1):
            if l % 2 != parity:
                continue
            drive = (input_drive if l == 1
                     else tf.matmul(states[l - 1], weights[l - 1]) + biases[l - 1])
            if l == n_layers:
                states[l] = _output_state(drive, y, beta)
            else:
                drive = drive + tf.matmul(states[l + 1], weights[l], transpose_b=True)
                states[l] = rho(drive)
    return states


def _feedforward_states(weights, biases, x, rho):
    states = [x]
    for l, (w, b) in enumerate(zip(weights, biases), start=1):
        drive = tf.matmul(states[-1], w) + b
        states.append(drive if l == len(weights) else rho(drive))
    return states


def relax(weights, biases, x, activation, n_steps, *, states=None, y=None, beta=0.0):
    """Relax the energy-based network for ``n_steps`` sweeps.

    Parameters
    ----------
    weights, biases : list of tf.Tensor
        W_l (n_{l-1}, n_l) and b_l (n_l,), shared with the MLP of the same sizes.
    x : tf.Tensor
        Input batch (batch, n_0), clamped.
    activation : str or Activation
        rho, one of `ENERGY_ACTIVATIONS`.
    n_steps : int
        Sweeps (0 returns the starting state).
    states : list of tf.Tensor, optional
        Starting state [x, s_1, ..., s_L]; default the feedforward pass.
    y : tf.Tensor, optional
        Target batch (needed unless ``beta == 0``).
    beta : float, tf.Tensor or None
        Nudging strength (0: free phase; negative values nudge away from ``y``,
        down to > -1); None clamps the output to ``y``.

    Returns
    -------
    list of tf.Tensor
        [x, s_1, ..., s_L] after ``n_steps`` sweeps.
    """
    rho = check_energy_activation(activation).f
    if states is None:
        states = _feedforward_states(weights, biases, x, rho)
    if beta is None:
        # clamped from the start, so that the first sweep's hidden layers see y
        states = list(states[:-1]) + [y]
    input_drive = tf.matmul(x, weights[0]) + biases[0]  # the same at every sweep
    for _ in range(n_steps):
        states = _sweep(states, weights, biases, input_drive, rho, y, beta)
    return states


def free_phase(weights, biases, x, activation, n_steps):
    """The free phase of the energy-based network: states after ``n_steps`` sweeps.

    The network has the layers of the MLP: states s_0 = x (clamped), hidden states
    s_l in the range of rho (l = 1..L-1) and a linear output state s_L. Its energy
    (Hopfield 1984 with Scellier & Bengio's layered connectivity) is

        E(s) = sum_{1<=l<L} sum_i G(s_{l,i}) + ||s_L||^2 / 2
               - sum_l (s_{l-1} W_l s_l + b_l . s_l),

    with G' = rho^{-1} (so G is convex), and the cost C = ||y - s_L||^2 / 2; the
    nudged energy is F = E + beta C. Given its neighbours, the state of one layer
    that minimises F is

        s_l = rho(s_{l-1} W_l + b_l + s_{l+1} W_{l+1}^T)   (hidden),
        s_L = (s_{L-1} W_L + b_L + beta y) / (1 + beta)     (output),

    and layers of equal parity do not interact, so one *sweep* (the discrete-time
    step here, as in Ernoult et al. 2019 but ordered) sets every odd layer to its
    minimiser and then every even layer. Each sweep is exact block-coordinate
    descent, so F never increases and the states settle at a fixed point, which is a
    stationary point of F; there the equilibrium-propagation theorem holds
    exactly. The free phase (beta = 0) starts from the feedforward pass
    s_l = rho(s_{l-1} W_l + b_l) (s_L linear), which it leaves only by the feedback
    s_{l+1} W_{l+1}^T.

    Parameters
    ----------
    weights, biases, x, activation, n_steps
        As for `relax`.

    Returns
    -------
    list of tf.Tensor
        [x, s_1, ..., s_L]; s_L is the network's prediction.
    """
    return relax(weights, biases, x, activation, n_steps)


def free_phase_output(weights, biases, x, activation, n_steps):
    """The prediction of the energy-based network: s_L after the free phase."""
    return free_phase(weights, biases, x, activation, n_steps)[-1]


def energy(states, weights, biases, activation, y=None, beta=0.0):
    """The energy F = E + beta C of `free_phase`, summed over the batch.

    Parameters
    ----------
    states : list of tf.Tensor
        [x, s_1, ..., s_L]; hidden states strictly inside the range of rho.
    weights, biases : list of tf.Tensor
    activation : str or Activation
        rho, one of `ENERGY_ACTIVATIONS`.
    y : tf.Tensor, optional
        Target (needed unless ``beta == 0``).
    beta : float
        Nudging strength.

    Returns
    -------
    tf.Tensor
        Scalar.
    """
    name = check_energy_activation(activation).name
    # G(s) = u log u + (1 - u) log(1 - u) has G' = rho^{-1}, with u = s for the
    # sigmoid (G' = logit s) and u = (1 + s) / 2 for tanh (G' = atanh s)
    total = tf.reduce_sum(tf.square(states[-1])) / 2
    for s in states[1:-1]:
        u = s if name == "sigmoid" else (1.0 + s) / 2
        total += tf.reduce_sum(u * tf.math.log(u) + (1 - u) * tf.math.log(1 - u))
    for pre, post, w, b in zip(states[:-1], states[1:], weights, biases):
        total -= tf.reduce_sum(tf.matmul(pre, w) * post) + tf.reduce_sum(b * post)
    if y is not None and beta != 0:
        total += beta * tf.reduce_sum(tf.square(y - states[-1])) / 2
    return total


def hebbian_terms(states):
    """-dE/dW_l and -dE/db_l at ``states``: (s_{l-1}^T s_l, sum_batch s_l)."""
    return [(tf.matmul(pre, post, transpose_a=True), tf.reduce_sum(post, 0))
            for pre, post in zip(states[:-1], states[1:])]


def _contrast(plus, minus, scale):
    return [(scale * (wp - wm), scale * (bp - bm))
            for (wp, bp), (wm, bm) in zip(hebbian_terms(plus), hebbian_terms(minus))]


def eqprop_updates(weights, biases, x, y, activation, n_free, n_nudged, beta,
                   symmetric=False):
    """Equilibrium propagation (Scellier & Bengio 2017) on the network of `free_phase`.

    Free phase: ``n_free`` sweeps from the feedforward pass (beta = 0), giving s^0.
    Nudged phase: ``n_nudged`` sweeps from s^0 with the output pulled towards y with
    strength beta, giving s^beta. The update is

        dW_l = (s_{l-1}^T s_l |_{s^beta} - s_{l-1}^T s_l |_{s^0}) / beta,
        db_l = sum_batch (s_l^beta - s_l^0) / beta,

    which tends to -dC(s^0)/dW as beta -> 0 at converged phases. With
    ``symmetric=True`` (Laborieux et al. 2021) the two nudged phases s^{+beta} and
    s^{-beta} replace s^beta and s^0: dW_l = (H(s^{+beta}) - H(s^{-beta})) /
    (2 beta), which cancels the first-order bias in beta.

    Parameters
    ----------
    weights, biases, x, y
        As for `feedback_alignment_updates`.
    activation : str or Activation
        rho, one of `ENERGY_ACTIVATIONS`.
    n_free, n_nudged : int
        Sweeps of the free and of each nudged phase.
    beta : float
        Nudging strength (> 0; < 1 with ``symmetric``, where the -beta phase needs
        ``1 - beta > 0`` to have a minimiser).
    symmetric : bool
        Symmetric nudging.

    Returns
    -------
    list of (tf.Tensor, tf.Tensor)
        (dW_l, db_l) for l = 1..L.
    """
    free = free_phase(weights, biases, x, activation, n_free)
    nudged = relax(weights, biases, x, activation, n_nudged, states=free, y=y,
                   beta=beta)
    if not symmetric:
        return _contrast(nudged, free, 1.0 / beta)
    opposite = relax(weights, biases, x, activation, n_nudged, states=free, y=y,
                     beta=-beta)
    return _contrast(nudged, opposite, 0.5 / beta)


def chl_updates(weights, biases, x, y, activation, n_free, n_clamped):
    """Contrastive Hebbian learning (Movellan 1991) on the network of `free_phase`.

    Free phase as for `eqprop_updates`; clamped phase: ``n_clamped`` sweeps from
    the free state with the output held at y. The update is

        dW_l = s_{l-1}^T s_l |_{clamped} - s_{l-1}^T s_l |_{free},
        db_l = sum_batch (s_l^clamped - s_l^free),

    i.e. equilibrium propagation at infinite nudging without the 1/beta.

    Parameters
    ----------
    weights, biases, x, y, activation
        As for `eqprop_updates`.
    n_free, n_clamped : int
        Sweeps of the free and the clamped phase.

    Returns
    -------
    list of (tf.Tensor, tf.Tensor)
        (dW_l, db_l) for l = 1..L.
    """
    free = free_phase(weights, biases, x, activation, n_free)
    clamped = relax(weights, biases, x, activation, n_clamped, states=free, y=y,
                    beta=None)
    return _contrast(clamped, free, 1.0)


def free_phase_gradient(weights, biases, x, y, activation, n_free):
    """BPTT reference: -dC/dW of the loss at the end of the unrolled free phase.

    ``C = sum_batch ||y - s_L||^2 / 2`` with s_L the output after ``n_free``
    sweeps of `free_phase` (starting point included), differentiated with
    ``tf.GradientTape`` through every sweep.

    Parameters
    ----------
    weights, biases, x, y, activation, n_free
        As for `eqprop_updates`.

    Returns
    -------
    list of (tf.Tensor, tf.Tensor)
        (-dC/dW_l, -dC/db_l) for l = 1..L.
    """
    params = [tf.convert_to_tensor(p) for p in list(weights) + list(biases)]
    n_layers = len(weights)
    with tf.GradientTape() as tape:
        tape.watch(params)
        y_hat = free_phase_output(params[:n_layers], params[n_layers:], x, activation,
                                  n_free)
        loss = tf.reduce_sum(tf.square(y - y_hat)) / 2
    grads = tape.gradient(loss, params)
    return [(-gw, -gb) for gw, gb in zip(grads[:n_layers], grads[n_layers:])]
