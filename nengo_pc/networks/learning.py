"""The local predictive-coding rule as a Nengo learning rule.

`LocalPC` is declared like `nengo.PES` (parameters only); its math lives in the
builders below: `build_local_pc` and the `SimLocalPC` operator for ``nengo.Simulator``,
and a NengoDL op builder, registered when NengoDL builds a model, in which the items
of a minibatch learn together.

The rule changes the weights T of a connection between two populations' neurons by
presynaptic activity times postsynaptic error:

    dT = -learning_rate * dt * g * (E_post e) (x) p

per step, where

* e is the rule's input (the error, in the post ensemble's represented space) and
  E_post the post ensemble's encoders (unit rows, no gain), so that E_post e is the
  error each postsynaptic neuron sees, as for `nengo.PES` on a connection into
  neurons;
* p is the presynaptic activity a filtered by ``pre_synapse`` (as a connection's
  synapse filters: the filtered value arrives a step later), or, with
  ``decode_pre=True``, the represented value of the pre ensemble read through its
  encoders (d = E_pre^T a, then filtered) and spread back over its neurons,
  p = E_pre d. For the signed pair populations of
  `~nengo_pc.networks.PredictiveCodingNetwork` (encoders [I; -I], the pair
  decoder) d is the signed value and the update keeps the two halves of every pair
  mirror images: the rule learns one matrix W from the value, whatever its sign;
* g is a gate, the last dimension of the input when ``gated=True``: the third
  factor of a three-factor rule. While g is not 0 the rule adds g times the change
  to an eligibility trace instead of the weights; at the first step where g is 0
  again the trace is applied to the weights at once. A learning window (g = 1, or
  a decaying learning-rate factor, during the learning phase of a presentation)
  thus changes the weights by the sum of its products when it closes, the weights
  staying put while it is open (without a gate every step's change is applied,
  as for `nengo.PES`).

On a connection whose transform is ``-E_post W^T E_pre^T`` (a prediction in the PC
network) this is ``dW = learning_rate * dt * g * d^T e``: the local PC update of
`nengo_pc.pc.core` with e the postsynaptic prediction error, per step of simulated
time. Unlike PES the rate is not divided by the number of presynaptic neurons.
As for every Nengo rule the change computed in one step reaches the weights in the
next.

**Minibatches in NengoDL.** The rule is one rule for all the items of a minibatch:
at every step the weights change by the sum over the items of their updates,
``dT = -learning_rate * dt * sum_b g_b (E_post e_b) (x) p_b``, so with
``minibatch_size=1`` NengoDL computes what ``nengo.Simulator`` does, and a minibatch
of B items learns what B simulators learning from the same weights would have
learned in total. Where the weights live is NengoDL's choice, and there are two
cases:

* *By default* NengoDL 3.6 stores the weights of any connection that has a learning
  rule once per minibatch item: ``TensorGraph.mark_signals`` (nengo_dl/
  tensor_graph.py lines 919-952) marks them ``minibatched`` "to learn independently
  in each minibatch", and ``TensorGraph.call`` (lines 504-516) assigns back after a
  call only the minibatched parameters a rule changed. The builder then adds the
  same summed update to every item's copy, so the copies stay identical
  (``sim.data[conn].weights`` has the minibatch axis, every row the same matrix).
  Correct, but every step reads and writes B copies of the weights: online
  learning of relu 784-100-10 at batch 20 ran about six times slower this way.
* *With* `share_learned_weights` among the network's NengoDL graph simplifications
  there is one matrix. NengoDL decides the layout of its signals in
  ``TensorGraph.__init__`` in this order: ``mark_signals`` (the per-item marking
  above), then the graph simplifications the network configures (the
  ``simplifications`` setting of ``nengo_dl.configure_settings``, applied to the
  operator list), then ``create_signals``, which reads every signal's
  ``trainable`` and ``minibatched`` attributes to build the base arrays. The
  simplification finds the `SimLocalPC` operators and marks their weights, delta
  and trace ``minibatched=False`` and ``trainable=None``: simulator *state*
  without a minibatch axis (as NengoDL's own time and step signals are). Every
  item's connection then reads the same matrix (one matrix product for the whole
  minibatch), the builder writes the summed update into it once, and nothing is
  copied. NengoDL keeps state between calls when the calls are stateful
  (``stateful=True``, the default of ``Simulator.run``; ``TensorGraph.call``
  assigns the final state back), and a stateless call (``predict_on_batch``'s
  default) leaves it as it was: a stateful call learns, a stateless one only reads.
  Online learning of relu 784-100-10 at batch 20 runs at 0.8x the speed of summing
  the products outside the simulator (``results/online_speed.json``).
  ``sim.data[conn].weights`` is the matrix, ``Simulator.save_params(...,
  include_state=True)`` saves it with the rest of the state, ``Simulator.reset``
  restores the initial weights.

No code writes into NengoDL's variables or changes the built network: the rule's
NengoDL builder sees ordinary signals, and the simplification only sets the two
attributes NengoDL itself reads. (A shared weight matrix that is a trainable
parameter rather than state would need NengoDL's ``call`` to assign back unbatched
parameters a rule changed; it does not, lines 504-516.)

Why this module is long: the rule's declaration, its reference builder and its
NengoDL builder with the simplification that shares the learned weights across the
minibatch are one concept; most of the length is this docstring, which says why the
weights can be shared in NengoDL 3.6 and what that costs.
"""

import sys

import numpy as np
from nengo.builder import Builder, Operator, Signal
from nengo.builder.connection import slice_signal
from nengo.builder.learning_rules import get_post_ens, get_pre_ens
from nengo.builder.operator import Reset
from nengo.ensemble import Neurons
from nengo.exceptions import BuildError
from nengo.learning_rules import LearningRuleType
from nengo.params import BoolParam, Default, NumberParam
from nengo.synapses import SynapseParam

from nengo_pc.networks.pairs import is_pair_decoder, is_pair_encoders


class LocalPC(LearningRuleType):
    """Local predictive-coding rule: presynaptic activity times postsynaptic error.

    Modifies the weights of a connection from neurons to neurons (see the module
    docstring for the update and how NengoDL's minibatch items share it).

    Parameters
    ----------
    learning_rate : float
        Rate of the rule per second of simulated time (>= 0); each step changes the
        weights by ``learning_rate * dt`` times the product.
    pre_synapse : nengo.synapses.Synapse or None
        Filter of the presynaptic activity (applied after decoding with
        ``decode_pre``), delayed by a step as a connection's synapse delays; None
        reads the activity of each step.
    size_in : int or str
        Size of the input: the error (``"post_state"``: the post ensemble's
        dimensions, as for `nengo.PES`), plus one for the gate when ``gated``, in
        which case give the total as an int.
    decode_pre : bool
        Read the presynaptic activity through the pre ensemble's encoders and
        spread the update back through them (see the module docstring).
    gated : bool
        The last input dimension is a gate: the rule learns into an eligibility
        trace while it is not 0 and applies the trace when it returns to 0.

    Attributes
    ----------
    learning_rate, pre_synapse, decode_pre, gated
        As above.
    """

    modifies = "weights"
    probeable = ("error", "activities", "delta")

    learning_rate = NumberParam("learning_rate", low=0, readonly=True, default=1.0)
    pre_synapse = SynapseParam("pre_synapse", default=None, optional=True,
                               readonly=True)
    decode_pre = BoolParam("decode_pre", default=False, readonly=True)
    gated = BoolParam("gated", default=False, readonly=True)

    def __init__(self, learning_rate=Default, pre_synapse=Default, size_in="post_state",
                 decode_pre=Default, gated=Default):
        super().__init__(learning_rate, size_in=size_in)
        self.pre_synapse = pre_synapse
        self.decode_pre = decode_pre
        self.gated = gated


class SimLocalPC(Operator):
    """Computes the weight change of the `LocalPC` rule.

    The product ``-scale * outer(post_encoders @ error[:d], pre_encoders @ pre)``
    (``pre`` itself without ``pre_encoders``) is the change of every step; when
    ``gated``, ``g = error[d]`` times it is added to ``trace`` while g is not 0, and
    the trace becomes the change (and is cleared) at a step where g is 0.

    Parameters
    ----------
    pre_filtered : Signal
        Filtered presynaptic activity (or decoded value, with ``pre_encoders``).
    error : Signal
        The rule's input: the error, then the gate if ``gated``.
    delta : Signal
        The weight change, shape ``(n_post_neurons, n_pre_neurons)``.
    trace : Signal or None
        The eligibility trace (shape of ``delta``), when gated.
    scale : float
        ``learning_rate * dt``.
    post_encoders : ndarray
        Shape ``(n_post_neurons, d)``.
    pre_encoders : ndarray or None
        Shape ``(n_pre_neurons, d_pre)``, with ``decode_pre``.

    Notes
    -----
    1. sets ``[]``
    2. incs ``[]``
    3. reads ``[pre_filtered, error]``
    4. updates ``[delta]`` (``[delta, trace]`` when gated)
    """

    def __init__(self, pre_filtered, error, delta, trace, scale, post_encoders,
                 pre_encoders, weights=None, tag=None):
        super().__init__(tag=tag)
        # the learned weights, which the op does not touch (``weights += delta`` is
        # Nengo's own op); named so that `share_learned_weights` can find them
        self.weights = weights
        self.scale = float(scale)
        self.post_encoders = np.asarray(post_encoders, dtype=np.float64)
        self.pre_encoders = (None if pre_encoders is None
                             else np.asarray(pre_encoders, dtype=np.float64))
        self.sets = []
        self.incs = []
        self.reads = [pre_filtered, error]
        self.updates = [delta] if trace is None else [delta, trace]

    @property
    def pre_filtered(self):
        """The presynaptic signal the rule reads."""
        return self.reads[0]

    @property
    def error(self):
        """The rule's input (error, then gate)."""
        return self.reads[1]

    @property
    def delta(self):
        """The weight change."""
        return self.updates[0]

    @property
    def trace(self):
        """The eligibility trace (None unless gated)."""
        return self.updates[1] if len(self.updates) > 1 else None

    @property
    def _descstr(self):
        return f"pre={self.pre_filtered}, error={self.error} -> {self.delta}"

    def make_step(self, signals, dt, rng):
        pre = signals[self.pre_filtered]
        error = signals[self.error]
        delta = signals[self.delta]
        trace = None if self.trace is None else signals[self.trace]
        post_enc, pre_enc = self.post_encoders, self.pre_encoders
        d = post_enc.shape[1]
        scale = -self.scale

        def step_sim_local_pc():
            local = post_enc @ error[:d]
            p = pre if pre_enc is None else pre_enc @ pre
            if trace is None:
                delta[...] = np.outer(local, p) * scale
            elif error[d] != 0:  # the window is open: remember
                # g split evenly over the two factors, so that a rule and its
                # mirror image (factors swapped) compute the same bits
                root = np.sqrt(np.abs(error[d]))
                trace[...] += np.outer(local * (np.sign(error[d]) * root),
                                       p * root) * scale
                delta[...] = 0
            else:  # closed: what the window learned lands at once
                delta[...] = trace
                trace[...] = 0

        return step_sim_local_pc


class SimProject(Operator):
    """Sets ``output = matrix @ input`` for a constant ``matrix``.

    The decoding of `LocalPC`'s presynaptic activity. The matrix is an attribute of
    the operator, not a signal, so that NengoDL keeps it a constant (a signal would
    be simulator state, copied per minibatch item).

    Parameters
    ----------
    matrix : ndarray
        Shape ``(n_out, n_in)``.
    input, output : Signal
    """

    def __init__(self, matrix, input, output, tag=None):
        super().__init__(tag=tag)
        self.matrix = np.asarray(matrix, dtype=np.float64)
        self.sets = [output]
        self.incs = []
        self.reads = [input]
        self.updates = []

    @property
    def input(self):
        """The projected signal."""
        return self.reads[0]

    @property
    def output(self):
        """The projection."""
        return self.sets[0]

    def make_step(self, signals, dt, rng):
        x, y, matrix = signals[self.input], signals[self.output], self.matrix

        def step_sim_project():
            y[...] = matrix @ x

        return step_sim_project


def _encoders(model, ens, neuron_slice):
    """Unit encoders (no gain) of the neurons of ``ens`` a connection reaches."""
    return np.asarray(model.params[ens].encoders)[neuron_slice]


@Builder.register(LocalPC)
def build_local_pc(model, local_pc, rule):
    """Build a `LocalPC` rule into ``model`` (a `SimLocalPC` operator on the delta).

    Parameters
    ----------
    model : nengo.builder.Model
    local_pc : LocalPC
    rule : nengo.connection.LearningRule
    """
    conn = rule.connection
    if not (isinstance(conn.pre_obj, Neurons) and isinstance(conn.post_obj, Neurons)):
        raise BuildError(
            f"{conn}: LocalPC learns the weights of a connection from neurons to "
            f"neurons, not from {type(conn.pre_obj).__name__} to "
            f"{type(conn.post_obj).__name__}")
    post_encoders = _encoders(model, get_post_ens(conn), conn.post_slice)
    n_error = rule.size_in - (1 if local_pc.gated else 0)
    if n_error != post_encoders.shape[1]:
        raise BuildError(
            f"{conn}: the LocalPC error has {n_error} dimensions, the post ensemble "
            f"{post_encoders.shape[1]} (size_in counts the gate when gated)")

    error = Signal(shape=(rule.size_in,), name="LocalPC:error")
    model.add_op(Reset(error))
    model.sig[rule]["in"] = error  # the error connection ends here

    pre = slice_signal(model, model.sig[conn.pre_obj]["out"], conn.pre_slice)
    pre_encoders = None
    if local_pc.decode_pre:
        pre_encoders = _encoders(model, get_pre_ens(conn), conn.pre_slice)
        decoded = Signal(shape=(pre_encoders.shape[1],), name="LocalPC:decoded")
        model.add_op(SimProject(pre_encoders.T, pre, decoded, tag="LocalPC:decode"))
        pre = decoded
    acts = pre
    if local_pc.pre_synapse is not None:
        # filtered as a connection's synapse filters (mode "update": the filtered
        # value reaches the rule a step later, as it would reach a population), so
        # that the rule's factors line up with signals other connections deliver
        acts = model.build(local_pc.pre_synapse, pre, mode="update")

    delta = model.sig[rule]["delta"]
    trace = None
    if local_pc.gated:
        trace = Signal(shape=delta.shape, name="LocalPC:trace")
        model.sig[rule]["trace"] = trace
    model.add_op(SimLocalPC(acts, error, delta, trace, local_pc.learning_rate * model.dt,
                            post_encoders, pre_encoders,
                            weights=model.sig[conn]["weights"]))
    model.sig[rule]["error"] = error
    model.sig[rule]["activities"] = acts

    # NengoDL builds the Nengo model (calling this function) before it looks up op
    # builders, so registering here covers every NengoDL simulator without importing
    # TensorFlow when only nengo is used
    if "nengo_dl" in sys.modules:
        register_nengo_dl()


def share_learned_weights(operators):
    """NengoDL graph simplification: one copy of the weights `LocalPC` learns.

    Marks the weights, delta and trace of every `SimLocalPC` in ``operators`` as
    simulator state that is not minibatched (see the module docstring), and returns
    ``operators`` unchanged. Give it to NengoDL before its default simplifications::

        nengo_dl.configure_settings(simplifications=(share_learned_weights,)
                                    + nengo_dl.graph_optimizer.default_simplifications)

    Parameters
    ----------
    operators : list of nengo.builder.Operator

    Returns
    -------
    operators : list of nengo.builder.Operator
        The same list.
    """
    shared = set()
    for op in operators:
        if isinstance(op, SimLocalPC):
            shared.update(sig.base for sig in (op.weights, op.delta, op.trace)
                          if sig is not None)
    if not shared:
        return operators
    # NengoDL reads these two attributes of every signal (views included) when it
    # lays out its base arrays, which happens after the simplifications
    for sig in [s for op in operators for s in op.all_signals] + list(shared):
        if sig.base in shared:
            sig.trainable = None
            sig.minibatched = False
    return operators


_NENGO_DL_REGISTERED = []


def register_nengo_dl():
    """Register the NengoDL op builder of `SimLocalPC` (once; imports TensorFlow)."""
    if _NENGO_DL_REGISTERED:
        return
    # pylint: disable=import-outside-toplevel
    import tensorflow as tf
    from nengo_dl.builder import Builder as DLBuilder
    from nengo_dl.builder import OpBuilder

    class SimLocalPCBuilder(OpBuilder):
        """NengoDL build class of `SimLocalPC`: the minibatch items' updates summed.

        The sum goes into the one delta and trace `share_learned_weights` made, or
        else into every item's copy (NengoDL's default layout), so the per-item
        weight copies stay identical: one shared matrix either way. A gated rule's
        window is open while any item's gate is not 0.
        """

        def build_pre(self, signals, config):
            super().build_pre(signals, config)
            op = self.ops[0]
            self.pre_data = signals.combine([op.pre_filtered])
            self.error_data = signals.combine([op.error])
            self.delta_data = signals.combine([op.delta])
            self.trace_data = None if op.trace is None else signals.combine([op.trace])
            self.d = op.post_encoders.shape[1]
            self.post_encoders = encoder_product(op.post_encoders, signals.dtype)
            self.pre_encoders = (None if op.pre_encoders is None else
                                 encoder_product(op.pre_encoders, signals.dtype))
            self.scale = tf.constant(-op.scale, dtype=signals.dtype)

        @staticmethod
        def _shared(signals, data, value):
            """Write the (unbatched) ``value`` into every item's copy of ``data``."""
            if data.minibatched:
                value = tf.broadcast_to(value[None], data.full_shape)
            signals.scatter(data, value)

        @staticmethod
        def _first(signals, data):
            value = signals.gather(data)
            return value[0] if data.minibatched else value

        def _change(self, error, pre):
            """The minibatch's summed product (gated: its factors times sqrt|g|)."""
            local = self.post_encoders(error[:, :self.d])
            if self.pre_encoders is not None:  # spread back over the pre neurons
                pre = self.pre_encoders(pre)
            if self.trace_data is not None:
                # g split evenly over the two factors, so that a rule and its
                # mirror image (factors swapped) compute the same bits
                gate = error[:, self.d:self.d + 1]
                root = tf.sqrt(tf.abs(gate))
                local *= tf.sign(gate) * root
                pre *= root
            # sum over the minibatch of the items' outer products
            return tf.matmul(local, pre, transpose_a=True) * self.scale

        def build_step(self, signals):
            error = signals.gather(self.error_data)
            pre = signals.gather(self.pre_data)
            if not self.error_data.minibatched:
                error = error[None]
            if not self.pre_data.minibatched:
                pre = tf.broadcast_to(pre[None], (tf.shape(error)[0],) + pre.shape)
            if self.trace_data is None:
                self._shared(signals, self.delta_data, self._change(error, pre))
                return
            trace = self._first(signals, self.trace_data)
            is_open = tf.reduce_any(tf.not_equal(error[:, self.d], 0))
            # the product only while the window is open (most steps it is not)
            trace, delta = tf.cond(
                is_open,
                lambda: (trace + self._change(error, pre), tf.zeros_like(trace)),
                lambda: (tf.zeros_like(trace), trace))
            self._shared(signals, self.trace_data, trace)
            self._shared(signals, self.delta_data, delta)

        @staticmethod
        def mergeable(x, y):
            # each rule is its own group: its encoders and sizes are its own
            return False

    class SimProjectBuilder(OpBuilder):
        """NengoDL build class of `SimProject` (a constant matrix product)."""

        def build_pre(self, signals, config):
            super().build_pre(signals, config)
            op = self.ops[0]
            self.input_data = signals.combine([op.input])
            self.output_data = signals.combine([op.output])
            self.project = encoder_product(op.matrix, signals.dtype)

        def build_step(self, signals):
            x = signals.gather(self.input_data)
            if self.input_data.minibatched:
                y = self.project(x)
            else:
                y = self.project(x[None])[0]
            signals.scatter(self.output_data, y)

        @staticmethod
        def mergeable(x, y):
            return False

    for op, builder in ((SimLocalPC, SimLocalPCBuilder), (SimProject, SimProjectBuilder)):
        if op not in DLBuilder.builders:
            DLBuilder.register(op)(builder)
    _NENGO_DL_REGISTERED.append(True)


def encoder_product(matrix, dtype):
    """``x -> x @ matrix.T`` for rows ``x`` (TensorFlow); for the pair coding's
    matrices ([I; -I] and its transpose) a concatenation or a difference of halves,
    which gives the same bits as the product (one nonzero +-1 term per output)
    without its cost (a dense (2n, n) product per item and step). The NengoDL
    builders of `SimLocalPC` and `SimProject` use it, and so does
    `nengo_pc.pc.online_tf`."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    matrix = np.asarray(matrix)
    n_out = matrix.shape[0]
    if is_pair_encoders(matrix):
        return lambda x: tf.concat([x, -x], axis=-1)
    if is_pair_decoder(matrix):
        return lambda x: x[..., :n_out] - x[..., n_out:]
    constant = tf.constant(matrix.T, dtype=dtype)
    return lambda x: tf.matmul(x, constant)
