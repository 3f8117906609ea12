"""One step of a built Nengo model as TensorFlow operations (`StepCompiler`).

The interpreter behind `nengo_pc.pc.online_tf.OnlineTFSimulator`: it takes the
operators Nengo's builder made of a network (``nengo.builder.Model.operators``)
and turns each into the TensorFlow operations of its arithmetic, as NengoDL's op
builders compute it (float32): ``Reset``, ``Copy``, ``ElementwiseInc``,
``DotInc``, ``SparseDotInc``, ``TimeUpdate``, ``SimNeurons`` (spiking and rate
rectified-linear, LIF), ``SimProcess`` of first-order linear filters, fed
``SimPyFunc`` nodes, ``SimProbe``, and this project's ``SimSlopeGate``,
``SimProject`` and ``SimLocalPC``; any other operator is refused (ValueError
naming ``simulator``). Every base signal is its own tensor (with a leading
minibatch axis unless it is a constant or a learned matrix the minibatch
shares), a view is a slice of it; nothing is gathered from or scattered into
common arrays, which is where NengoDL spends its time on these networks
(docs/performance.md).

What it skips is work that changes nothing, and it says so where it does:

* a ``Reset`` to 0 is a marker, so the increments after it are not added to 0;
* the pair transforms' sparse products take their columns as slices;
* a product by a large learned matrix multiplies only the nonzero entries of its
  input (spikes: most neurons are silent at a step), as a sparse product with
  the transposed matrix, which is rebuilt when the matrix changes;
* a gated `~nengo_pc.networks.learning.LocalPC` rule with a large trace keeps
  flags of whether its trace and delta may be nonzero (``weights += delta`` and
  the trace's reset happen only when they may change something), and sums its
  window's products in the pair coding's block form (a quarter of the full
  matrix: the encoders [I; -I] make the other three blocks its negations),
  scaling the sum once.

The last two change the order of float32 additions (a sparse product, one
scaling of a sum), as does ``X @ A^T`` against NengoDL's ``A @ X^T``: the numbers
agree with NengoDL's to rounding (``tests/test_online_tf.py``).

Why this module is long: one method per operator type, each a few lines, and the
learning rule's two paths; they share the signal bookkeeping (`read`, `write`).
"""

import numpy as np

from nengo_pc.networks.learning import SimLocalPC, encoder_product
from nengo_pc.networks.pairs import is_pair_encoders, tf_slope
from nengo_pc.networks.spiking_pc_tf import Filter, lif, spiking_relu

#: A `nengo.builder.operator.DotInc` by a learned matrix with at least this many
#: entries multiplies only by the nonzero entries of its input (spikes).
SPARSE_PRODUCT = 100000


#: `take` gathers columns that form more runs than this.
MAX_RUNS = 8

#: A gated `LocalPC` whose trace has at least this many entries skips, by
#: conditionals, the work its closed window does not need; smaller ones compute
#: NengoDL's arithmetic every step.
CONDITIONAL_TRACE = 100000


def stable_order(operators):
    """The operators in an order Nengo may run them (reads after sets and incs,
    updates after reads), the same in every process: the builder's order wherever
    the dependencies allow (Kahn's algorithm, earliest first). Nengo's own
    topological sort follows set iteration, which varies between processes, and
    the order of two increments of one signal is the order of a float32 sum."""
    import heapq

    from nengo.utils.simulator import operator_dependency_graph

    operators = [op for op in operators if hasattr(op, "make_step")]
    index = {op: i for i, op in enumerate(operators)}
    graph = operator_dependency_graph(operators)
    waiting = {op: 0 for op in operators}
    for op in operators:
        for succ in graph.get(op, ()):
            waiting[succ] += 1
    ready = [index[op] for op in operators if waiting[op] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        op = operators[heapq.heappop(ready)]
        order.append(op)
        for succ in graph.get(op, ()):
            waiting[succ] -= 1
            if waiting[succ] == 0:
                heapq.heappush(ready, index[succ])
    if len(order) != len(operators):
        raise ValueError("simulator: the network's operators have a dependency cycle")
    return order


def take(tf, x, index):
    """``x[..., index]`` for a constant ``index``: slices of ``x`` where ``index``
    runs through consecutive columns (the pair transforms' columns do: a slice
    copies a block, a gather along the last axis copies element by element),
    else a gather."""
    index = np.asarray(index)
    breaks = np.flatnonzero(np.diff(index) != 1) + 1
    runs = np.split(index, breaks)
    if len(runs) > MAX_RUNS:
        return tf.gather(x, index, axis=len(x.shape) - 1)
    parts = [x[..., int(r[0]):int(r[-1]) + 1] for r in runs]
    return parts[0] if len(parts) == 1 else tf.concat(parts, axis=-1)


class Zero:  # pylint: disable=too-few-public-methods
    """A signal a ``Reset`` set to 0 this step and nothing has written since."""

    def __init__(self, shape):
        self.shape = shape


def _positions(sig):
    """Flat positions of a signal's elements in its base, shape ``sig.shape``."""
    base = sig.base
    index = np.arange(max(base.size, 1)).reshape(base.shape)
    if not sig.is_view:
        return index
    strides = tuple(s * index.itemsize for s in sig.elemstrides)
    return np.lib.stride_tricks.as_strided(index.ravel()[sig.elemoffset:],
                                           shape=sig.shape, strides=strides).copy()


__all__ = ["StepCompiler", "Zero", "stable_order", "take"]


class StepCompiler:  # pylint: disable=too-many-instance-attributes
    """One simulator step of a built Nengo model as TensorFlow operations.

    Parameters
    ----------
    operators : list of nengo.builder.Operator
        A built model's, in an order Nengo may run them (`stable_order`).
    fed : set
        Base signals the caller gives every step (the outputs of the nodes
        NengoDL feeds).
    shared : set
        Base signals without a minibatch axis that change (the learned weights,
        their delta and trace).
    dt : float
    batch_size : int
    """

    def __init__(self, operators, fed, shared, dt, batch_size):
        import tensorflow as tf

        self.tf, self.dt, self.batch_size = tf, np.float32(dt), int(batch_size)
        self.fed, self.shared = fed, shared
        self.ops = operators
        written = {s.base for op in operators for s in op.sets + op.incs + op.updates}
        self.batched = (written - shared) | set(fed)
        # the signals a step starts from: every written one except those a step
        # sets whole before reading them (reset ones, neuron outputs); a larger set
        # would only cost a little
        transient = {op.dst.base for op in operators
                     if type(op).__name__ == "Reset" and not op.dst.is_view}
        transient |= {op.output.base for op in operators
                      if type(op).__name__ in ("SimNeurons", "SimSlopeGate", "SimProject")
                      and not op.output.is_view}
        carried = written - transient
        for op in operators:
            if type(op).__name__ == "SimNeurons":
                carried.update(op.sets[i].base for i in op.state_idxs.values())
        order = []
        for op in operators:
            for s in op.all_signals:
                if s.base in carried and s.base not in order:
                    order.append(s.base)
        self.carried = order
        self.constants = {}
        # the gated rules' traces and deltas carry a flag "may be nonzero"
        self.flagged = [s.base for op in operators if isinstance(op, SimLocalPC)
                        and op.trace is not None and op.trace.size >= CONDITIONAL_TRACE
                        for s in (op.trace, op.delta)]
        self.accumulated, self.transposed = [], []
        self.steppers = [self._stepper(op) for op in operators]

    # -- signals -------------------------------------------------------------------
    def initial(self, base):
        """Initial value of a carried base signal (float32, tiled over the batch)."""
        value = np.asarray(base.initial_value, np.float32)
        return np.broadcast_to(value, self.full_shape(base)).copy()

    def constant(self, base):
        """A base signal no operator writes, as a constant of the graph being built."""
        if base not in self.constants:
            value = base.initial_value
            if hasattr(value, "toarray"):
                value = value.toarray()
            self.constants[base] = np.asarray(value, np.float32)
        return self.tf.constant(self.constants[base])

    def value(self, env, base):
        """A base signal's current value (a tensor)."""
        value = env[base] if base in env else self.constant(base)
        return self.tf.zeros(value.shape) if isinstance(value, Zero) else value

    def full_shape(self, base):
        """A base's shape with its minibatch axis (if it has one)."""
        return ((self.batch_size,) if base in self.batched else ()) + tuple(base.shape)

    def read(self, env, sig):
        """A signal's value (a slice of its base for a view; a 0-d view keeps a
        last axis of 1, so that it broadcasts against the batch)."""
        tf = self.tf
        value = self.value(env, sig.base)
        if not sig.is_view:
            return value
        lead = 1 if sig.base in self.batched else 0
        if sig.base.ndim == 1 and sig.ndim <= 1:
            start = sig.elemoffset
            if sig.ndim == 0:
                return value[..., start:start + 1]
            step = sig.elemstrides[0]
            if step > 0:
                return value[..., start:start + step * sig.shape[0]:step]
        flat = tf.reshape(value, tf.concat([tf.shape(value)[:lead], [-1]], 0))
        return tf.gather(flat, _positions(sig), axis=lead)

    def write(self, env, sig, value, inc, index=None):
        """Set or add ``value`` into ``sig`` (or its elements ``index``)."""
        tf = self.tf
        base = sig.base
        batched = base in self.batched
        full = ((self.batch_size,) if batched else ()) + tuple(base.shape)
        positions = _positions(sig)
        if index is not None:
            positions = positions[index]
        positions = np.asarray(positions).ravel()
        if len(positions) == max(base.size, 1) and np.array_equal(
                positions, np.arange(len(positions))):  # the whole base
            if tuple(value.shape) != full:
                value = tf.broadcast_to(tf.reshape(value, tuple(base.shape)), full)
            if inc and not isinstance(env.get(base), Zero):  # 0 + x is x
                value = self.value(env, base) + value
            env[base] = value
            return
        old = tf.broadcast_to(self.value(env, base), full)
        lead = full[:1] if batched else ()
        if len(value.shape) > len(lead):
            value = tf.reshape(value, lead + (-1,))
        value = tf.broadcast_to(value, lead + (len(positions),))
        start = int(positions[0])
        if base.ndim == 1 and np.array_equal(positions,
                                             np.arange(start, start + len(positions))):
            end = start + len(positions)
            middle = old[..., start:end] + value if inc else value
            env[base] = tf.concat([old[..., :start], middle, old[..., end:]], axis=-1)
            return
        # general positions: through the transposed base (rare in these networks)
        n = max(base.size, 1)
        rows = tf.transpose(tf.reshape(old, (-1, n)))
        update = tf.transpose(tf.reshape(value, (-1, len(positions))))
        idx = positions[:, None].astype(np.int32)
        rows = (tf.tensor_scatter_nd_add if inc else tf.tensor_scatter_nd_update)(
            rows, idx, update)
        env[base] = tf.reshape(tf.transpose(rows), full)

    # -- operators -----------------------------------------------------------------
    def _stepper(self, op):
        name = type(op).__name__
        method = getattr(self, "_op_" + name, None)
        if method is None:
            raise ValueError(f"simulator: the tensorflow simulator cannot run "
                             f"Nengo's {name} operator ({op}); use simulator='nengo_dl'")
        return method(op)

    def _op_Reset(self, op):
        value = np.asarray(op.value, np.float32)

        if not op.dst.is_view and not np.any(value):
            def reset_to_zero(env):
                # a marker, not a tensor: the increments that follow replace it
                env[op.dst.base] = Zero(self.full_shape(op.dst.base))
            return reset_to_zero

        def step(env):
            self.write(env, op.dst, self.tf.constant(
                np.broadcast_to(value, op.dst.shape).copy()), inc=False)
        return step

    def _op_Copy(self, op):
        tf = self.tf
        src_slice = op.src_slice
        dst_slice = op.dst_slice

        if op.inc and src_slice is None and dst_slice is None \
                and op.src.base in self.flagged and not op.dst.is_view:
            # weights += delta: delta is 0 but when a rule's window closes
            def commit(env):
                w, key = self.value(env, op.dst.base), ("transposed", op.dst.base)
                flag = env[("nonzero", op.src.base)]
                env[op.dst.base] = w = tf.cond(flag, lambda: w + self.read(env, op.src),
                                               lambda: w)
                if key in env:
                    old = env[key]
                    env[key] = tf.cond(flag, lambda: tf.transpose(w), lambda: old)
            return commit

        def step(env):
            x = self.read(env, op.src)
            if src_slice is not None:
                idx = np.arange(op.src.shape[0])[src_slice]
                x = take(tf, x, idx)
            self.write(env, op.dst, x, inc=op.inc,
                       index=None if dst_slice is None
                       else np.arange(op.dst.shape[0])[dst_slice])
        return step

    def _op_ElementwiseInc(self, op):
        def step(env):
            self.write(env, op.Y, self.read(env, op.A) * self.read(env, op.X), inc=True)
        return step

    def _op_DotInc(self, op):
        tf = self.tf
        if op.A.base in self.batched or op.A.ndim != 2:
            raise ValueError(f"simulator: the tensorflow simulator multiplies by "
                             f"unbatched matrices only ({op})")

        if op.A.base in self.shared and not op.A.is_view and op.X.base in self.batched \
                and op.A.size >= SPARSE_PRODUCT:
            self.transposed.append(op.A.base)

            def sparse_step(env):
                # the entries of x that are 0 (the spikes of silent neurons) add
                # nothing: a sparse product with A^T
                x = self.read(env, op.X)
                where = tf.where(tf.not_equal(x, 0))
                sparse = tf.SparseTensor(where, tf.gather_nd(x, where),
                                         tf.shape(x, out_type=tf.int64))
                dot = tf.sparse.sparse_dense_matmul(sparse, env[("transposed", op.A.base)])
                self.write(env, op.Y, dot, inc=True)
            return sparse_step

        def step(env):
            x = self.read(env, op.X)
            a = self.read(env, op.A)
            if op.X.base in self.batched:
                dot = tf.matmul(x, a, transpose_b=True)
            else:
                dot = tf.linalg.matvec(a, x)
            self.write(env, op.Y, dot, inc=True)
        return step

    def _op_SparseDotInc(self, op):
        tf = self.tf
        matrix = op.A.initial_value
        indices, data = np.asarray(matrix.indices), np.asarray(matrix.data, np.float32)
        n_rows = matrix.shape[0]
        counts = np.zeros(n_rows, int)
        cols, coefs = [], []
        for (row, col), value in zip(indices, data):  # in index order, as NengoDL
            k = counts[row]
            if k == len(cols):
                cols.append(np.zeros(n_rows, np.int32))
                coefs.append(np.zeros(n_rows, np.float32))
            cols[k][row], coefs[k][row] = col, value
            counts[row] += 1
        coefs = [tf.constant(c) for c in coefs]

        def step(env):
            x = self.read(env, op.X)
            dot = None
            for col, coef in zip(cols, coefs):
                term = coef * take(tf, x, col)
                dot = term if dot is None else dot + term
            self.write(env, op.Y, dot, inc=True)
        return step

    def _op_TimeUpdate(self, op):
        def step(env):
            new = self.value(env, op.step.base) + 1
            env[op.step.base] = new
            if op.time is not None:
                env[op.time.base] = self.tf.cast(new, self.tf.float32) * self.dt
        return step

    def _op_SimNeurons(self, op):
        import nengo

        tf, dt = self.tf, self.dt
        ntype = op.neurons
        state = {name: op.sets[i] for name, i in op.state_idxs.items()}
        amplitude = np.float32(getattr(ntype, "amplitude", 1.0))
        alpha = amplitude / dt
        if type(ntype) is nengo.SpikingRectifiedLinear:
            def step(env):
                out, _, v = spiking_relu(self.read(env, op.J),
                                         self.read(env, state["voltage"]), dt, alpha)
                self.write(env, op.output, out, inc=False)
                self.write(env, state["voltage"], v, inc=False)
        elif type(ntype) is nengo.RectifiedLinear:
            def step(env):
                out = tf.nn.relu(self.read(env, op.J))
                if amplitude != 1:
                    out = out * amplitude
                self.write(env, op.output, out, inc=False)
        elif type(ntype) is nengo.LIF:
            def step(env):
                out, _, v, ref = lif(self.read(env, op.J), self.read(env, state["voltage"]),
                                     self.read(env, state["refractory_time"]), dt, alpha,
                                     ntype)
                self.write(env, op.output, out, inc=False)
                self.write(env, state["voltage"], v, inc=False)
                self.write(env, state["refractory_time"], ref, inc=False)
        else:
            raise ValueError(f"simulator: the tensorflow simulator runs "
                             f"SpikingRectifiedLinear, RectifiedLinear and LIF neurons, "
                             f"not {ntype}; use simulator='nengo_dl'")
        return step

    def _op_SimProcess(self, op):
        import nengo

        if not isinstance(op.process, nengo.LinearFilter) or op.mode != "update":
            raise ValueError(f"simulator: the tensorflow simulator runs linear "
                             f"filters only, not {op.process}; use simulator='nengo_dl'")
        synapse = Filter(op.process, float(self.dt))
        if synapse.order != 1:
            raise ValueError(f"synapse: the tensorflow simulator runs first-order "
                             f"synapses (Lowpass), not {op.process}")

        def step(env):
            y = self.read(env, op.output)
            self.write(env, op.output, synapse.a * y + synapse.b * self.read(env, op.input),
                       inc=False)
        return step

    def _op_SimPyFunc(self, op):
        if op.output is None or op.output.base not in self.fed:
            raise ValueError(f"simulator: the tensorflow simulator cannot call "
                             f"Python functions ({op}); use simulator='nengo_dl'")
        return lambda env: None  # its output is fed

    def _op_SimProbe(self, op):
        return lambda env: None  # read after the step

    def _op_SimSlopeGate(self, op):
        slope = tf_slope(op.activation)
        n = op.output.shape[0]

        def step(env):
            x = self.read(env, op.input)
            self.write(env, op.output, slope(x[..., :n]) * x[..., n:], inc=False)
        return step

    def _op_SimProject(self, op):
        product = encoder_product(op.matrix, self.tf.float32)

        def step(env):
            self.write(env, op.output, product(self.read(env, op.input)), inc=False)
        return step

    def _op_SimLocalPC(self, op):
        # NengoDL's builder of the rule (nengo_pc.networks.learning), with the
        # weights shared by the minibatch
        tf = self.tf
        if op.delta.base not in self.shared:
            raise ValueError("simulator: the tensorflow simulator needs the "
                             "LocalPC weights shared (share_learned_weights)")
        d = op.post_encoders.shape[1]
        post_pair = is_pair_encoders(op.post_encoders)
        pre_pair = op.pre_encoders is not None and is_pair_encoders(op.pre_encoders)
        post = (lambda x: x) if post_pair else encoder_product(op.post_encoders,
                                                              tf.float32)
        pre_enc = ((lambda x: x) if pre_pair or op.pre_encoders is None
                   else encoder_product(op.pre_encoders, tf.float32))
        scale = tf.constant(-op.scale, tf.float32)

        def expand(m):
            """The full change from its pair-coded block: mirrored halves (exact:
            the full product's entries are these, negated or not)."""
            if pre_pair:
                m = tf.concat([m, -m], axis=1)
            return tf.concat([m, -m], axis=0) if post_pair else m

        def change(error, pre):
            """The change in pair-coded block form (see `expand`)."""
            local, pre = post(error[:, :d]), pre_enc(pre)
            if op.trace is not None:
                gate = error[:, d:d + 1]
                root = tf.sqrt(tf.abs(gate))
                local *= tf.sign(gate) * root
                pre *= root
            return tf.matmul(local, pre, transpose_a=True)

        if op.trace is None:
            def step(env):
                error, pre = self.read(env, op.error), self.read(env, op.pre_filtered)
                self.write(env, op.delta, expand(change(error, pre) * scale), inc=False)
            return step

        if op.trace.size < CONDITIONAL_TRACE:
            # NengoDL's builder as it is, without conditionals (a conditional
            # costs more than these small products)
            def small_step(env):
                error, pre = self.read(env, op.error), self.read(env, op.pre_filtered)
                trace = self.read(env, op.trace)
                is_open = tf.reduce_any(tf.not_equal(error[:, d], 0))
                zero = tf.zeros_like(trace)
                self.write(env, op.trace, tf.where(
                    is_open, trace + expand(change(error, pre) * scale), zero), inc=False)
                self.write(env, op.delta, tf.where(is_open, zero, trace), inc=False)
            return small_step

        # gated: the window's products are summed in block form ("acc"), scaled
        # and added to the trace when the window closes or the call ends
        # (`finish`): NengoDL scales every product before adding it, so the two
        # differ by rounding
        n_post = d if post_pair else op.trace.shape[0]
        n_pre = op.pre_encoders.shape[1] if pre_pair else op.trace.shape[1]

        def fold(trace, acc, t_flag):
            """The trace with the block sum added (the trace is often 0)."""
            full = expand(acc * scale)
            return tf.cond(t_flag, lambda: trace + full, lambda: full)

        self.accumulated.append((op.trace.base, op.delta.base, fold, (n_post, n_pre)))

        def step(env):
            error, pre = self.read(env, op.error), self.read(env, op.pre_filtered)
            trace, delta = self.read(env, op.trace), self.read(env, op.delta)
            acc, a_flag = env[("acc", op.trace.base)], env[("acc nonzero", op.trace.base)]
            t_flag = env[("nonzero", op.trace.base)]
            d_flag = env[("nonzero", op.delta.base)]
            is_open = tf.reduce_any(tf.not_equal(error[:, d], 0))
            yes, no = tf.constant(True), tf.constant(False)

            def cleared():
                return tf.cond(d_flag, lambda: tf.zeros_like(delta), lambda: delta)

            def learn():
                return trace, cleared(), acc + change(error, pre), t_flag, no, yes

            def close():
                return tf.cond(
                    t_flag | a_flag,
                    lambda: (tf.zeros_like(trace), fold(trace, acc, t_flag),
                             tf.zeros_like(acc), no, yes, no),
                    lambda: (trace, cleared(), acc, no, no, no))

            trace, delta, acc, t_flag, d_flag, a_flag = tf.cond(is_open, learn, close)
            self.write(env, op.trace, trace, inc=False)
            self.write(env, op.delta, delta, inc=False)
            env[("acc", op.trace.base)], env[("acc nonzero", op.trace.base)] = acc, a_flag
            env[("nonzero", op.trace.base)] = t_flag
            env[("nonzero", op.delta.base)] = d_flag
        return step

    # -- a call ----------------------------------------------------------------------
    def start(self, env):
        """Add the per-call auxiliary values to ``env`` (from its state): whether
        each flagged signal may be nonzero, the block sums, the transposes."""
        tf = self.tf
        for base in self.flagged:
            env[("nonzero", base)] = tf.reduce_any(tf.not_equal(env[base], 0))
        for base, _, _, shape in self.accumulated:
            env[("acc", base)] = tf.zeros(shape)
            env[("acc nonzero", base)] = tf.constant(False)
        for base in self.transposed:
            env[("transposed", base)] = tf.transpose(self.value(env, base))

    def finish(self, env):
        """Fold what is left of the block sums into the traces (at a call's end)."""
        tf = self.tf
        for base, _, fold, _ in self.accumulated:
            trace, acc, t_flag = env[base], env[("acc", base)], env[("nonzero", base)]
            env[base] = tf.cond(env[("acc nonzero", base)],
                                lambda t=trace, a=acc, f=fold, g=t_flag: f(t, a, g),
                                lambda t=trace: t)

    def step(self, env):
        """Run every operator once on ``env`` (base signal -> tensor), in place."""
        for stepper in self.steppers:
            stepper(env)
