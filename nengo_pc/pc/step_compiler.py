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

What it skips is work that changes nothing, and it says so where it does
(docs/performance.md has what these changes saved, together):

* a ``Reset`` to 0 is a marker, so the increments after it are not added to 0;
  a signal written in runs of columns after it (a rule's error and gate) is
  kept as its runs (`Parts`), joined only if something reads it whole;
* only signals a step reads before it writes them are carried from step to
  step (not a population's input, which a copy of its bias sets every step,
  nor the state signal Nengo builds for a first-order filter, whose output is
  its state);
* the pair transforms' sparse products take their columns as slices, add or
  subtract a term whose coefficients are all 1 or all -1 instead of
  multiplying it, and compute only the first half of a transform whose second
  half of rows is the first half negated (the encoders [I; -I]), negating it;
* a product by a large learned matrix multiplies only the nonzero entries of its
  input (spikes: most neurons are silent at a step), as a sparse product with
  the transposed matrix, which is rebuilt when the matrix changes;
* a gated `~nengo_pc.networks.learning.LocalPC` rule with a large trace keeps
  flags of whether its trace and delta may be nonzero (``weights += delta`` and
  the trace's reset happen only when they may change something), keeps its
  window's factors step by step, and computes the window's change when it
  closes as one product of the stacked factors (a sum over the window's steps
  and the minibatch at once), in the pair coding's block form (a quarter of
  the full matrix: the encoders [I; -I] make the other three blocks its
  negations), scaled once; smaller gated rules select by the window's state as
  products by 1 or 0.

The last two change the order of float32 additions (a sparse product, one
product and one scaling for a window), as does ``X @ A^T`` against NengoDL's
``A @ X^T``: the numbers agree with NengoDL's to rounding
(``tests/test_online_tf.py``); the others compute the same numbers.

The learning rule's step is in `nengo_pc.pc.local_pc_step`, the signal
bookkeeping's helpers in `nengo_pc.pc.step_signals`.
"""

import numpy as np

from nengo_pc.networks.learning import SimLocalPC, encoder_product
from nengo_pc.networks.pairs import tf_slope
from nengo_pc.networks.spiking_pc_tf import Filter, lif, spiking_relu
from nengo_pc.pc import local_pc_step as rule_step
from nengo_pc.pc.step_signals import Parts, Zero, changed_signals, positions, take

#: A `nengo.builder.operator.DotInc` by a learned matrix with at least this many
#: entries multiplies only by the nonzero entries of its input (spikes).
SPARSE_PRODUCT = 100000


__all__ = ["StepCompiler"]


class StepCompiler:  # pylint: disable=too-many-instance-attributes
    """One simulator step of a built Nengo model as TensorFlow operations.

    Parameters
    ----------
    operators : list of nengo.builder.Operator
        A built model's, in an order Nengo may run them
        (`~nengo_pc.pc.step_signals.stable_order`).
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
        written = {s.base for op in operators for s in changed_signals(op)}
        self.batched = (written - shared) | set(fed)
        # the signals a step starts from: every written one except those a step
        # sets whole before anything reads them (reset ones, copies of a bias
        # into a population's input, neuron outputs): Nengo orders a signal's
        # sets before its increments and reads
        transient = {op.dst.base for op in operators
                     if type(op).__name__ == "Reset" and not op.dst.is_view}
        transient |= {op.dst.base for op in operators
                      if type(op).__name__ == "Copy" and not op.inc and not op.dst.is_view
                      and op.src_slice is None and op.dst_slice is None}
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
        self.flagged = [
            s.base for op in operators if isinstance(op, SimLocalPC)
            and op.trace is not None and op.trace.size >= rule_step.CONDITIONAL_TRACE
            for s in (op.trace, op.delta)]
        self.windows, self.transposed = [], []
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
        """A base signal's current value (a tensor; a signal written in runs is
        joined here, once)."""
        tf = self.tf
        value = env[base] if base in env else self.constant(base)
        if isinstance(value, Zero):
            return tf.zeros(value.shape)
        if isinstance(value, Parts):
            lead, n = value.shape[:-1], value.shape[-1]
            columns, at = [], 0
            for start, (end, piece) in sorted(value.pieces.items()):
                if start > at:
                    columns.append(tf.zeros(lead + (start - at,)))
                columns.append(piece)
                at = end
            if at < n:
                columns.append(tf.zeros(lead + (n - at,)))
            env[base] = value = tf.concat(columns, axis=-1)
        return value

    def columns(self, env, sig, start, end):
        """``read(env, sig)[..., start:end]`` of a 1-d signal, without joining a
        signal written in runs (`Parts`) when the columns are one of its runs."""
        if sig.is_view:
            if sig.base.ndim != 1 or sig.ndim != 1 or sig.elemstrides[0] != 1:
                return self.read(env, sig)[..., start:end]
            start, end = start + sig.elemoffset, end + sig.elemoffset
        current = env.get(sig.base)
        if isinstance(current, Parts) and current.pieces.get(start, (None,))[0] == end:
            return current.pieces[start][1]
        return self.value(env, sig.base)[..., start:end]

    def full_shape(self, base):
        """A base's shape with its minibatch axis (if it has one)."""
        return ((self.batch_size,) if base in self.batched else ()) + tuple(base.shape)

    def read(self, env, sig):
        """A signal's value (a slice of its base for a view; a 0-d view keeps a
        last axis of 1, so that it broadcasts against the batch)."""
        tf = self.tf
        if sig.is_view and sig.base.ndim == 1 and sig.ndim == 1 \
                and sig.elemstrides[0] == 1:
            return self.columns(env, sig, 0, sig.shape[0])
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
        return tf.gather(flat, positions(sig), axis=lead)

    def write(self, env, sig, value, inc, index=None):
        """Set or add ``value`` into ``sig`` (or its elements ``index``)."""
        tf = self.tf
        base = sig.base
        batched = base in self.batched
        full = ((self.batch_size,) if batched else ()) + tuple(base.shape)
        where = positions(sig)
        if index is not None:
            where = where[index]
        where = np.asarray(where).ravel()
        if len(where) == max(base.size, 1) and np.array_equal(
                where, np.arange(len(where))):  # the whole base
            if tuple(value.shape) != full:
                value = tf.broadcast_to(tf.reshape(value, tuple(base.shape)), full)
            if inc and not isinstance(env.get(base), Zero):  # 0 + x is x
                # (a signal written in runs is joined by `value`)
                value = self.value(env, base) + value
            env[base] = value
            return
        lead = full[:1] if batched else ()
        if tuple(value.shape) != lead + (len(where),):
            if len(value.shape) > len(lead):
                value = tf.reshape(value, lead + (-1,))
            value = tf.broadcast_to(value, lead + (len(where),))
        start = int(where[0])
        end = start + len(where)
        run = base.ndim == 1 and np.array_equal(where, np.arange(start, end))
        current = env.get(base)
        if run and isinstance(current, (Zero, Parts)):
            pieces = dict(getattr(current, "pieces", {}))
            if not isinstance(current, Parts) or not current.overlaps(start, end):
                if inc and start in pieces:  # the same run again
                    value = pieces[start][1] + value
                pieces[start] = (end, value)
                env[base] = Parts(full, pieces)
                return
        old = tf.broadcast_to(self.value(env, base), full)
        if run:
            middle = old[..., start:end] + value if inc else value
            env[base] = tf.concat([old[..., :start], middle, old[..., end:]], axis=-1)
            return
        # general positions: through the transposed base (rare in these networks)
        n = max(base.size, 1)
        rows = tf.transpose(tf.reshape(old, (-1, n)))
        update = tf.transpose(tf.reshape(value, (-1, len(where))))
        idx = where[:, None].astype(np.int32)
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
        # the pair coding's transforms: when the second half of the rows is the
        # first half negated (encoders [I; -I]), its sums are the first half's
        # negated, exactly (rounding is symmetric about 0)
        half = n_rows // 2
        mirrored = n_rows % 2 == 0 and bool(cols) and all(
            np.array_equal(c[half:], c[:half]) and np.array_equal(v[half:], -v[:half])
            for c, v in zip(cols, coefs))
        if mirrored:
            cols, coefs = [c[:half] for c in cols], [v[:half] for v in coefs]
        # a term whose coefficients are all 1 or all -1 is added or subtracted
        # (exact: 1 * x is x, a + -1 * x is a - x)
        terms = [(col, 1 if np.all(coef == 1) else -1 if np.all(coef == -1) else 0,
                  tf.constant(coef)) for col, coef in zip(cols, coefs)]

        def step(env):
            x = self.read(env, op.X)
            dot = None
            for col, sign, coef in terms:
                term = take(tf, x, col)
                if sign == 0:
                    term = coef * term
                    dot = term if dot is None else dot + term
                elif dot is None:
                    dot = term if sign > 0 else -term
                else:
                    dot = dot + term if sign > 0 else dot - term
            if mirrored:
                dot = tf.concat([dot, -dot], axis=-1)
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
            x, gate = (self.columns(env, op.input, 0, n),
                       self.columns(env, op.input, n, 2 * n))
            self.write(env, op.output, slope(x) * gate, inc=False)
        return step

    def _op_SimProject(self, op):
        product = encoder_product(op.matrix, self.tf.float32)

        def step(env):
            self.write(env, op.output, product(self.read(env, op.input)), inc=False)
        return step

    def _op_SimLocalPC(self, op):
        return rule_step.local_pc_step(self, op)

    # -- a call ----------------------------------------------------------------------
    def start(self, env, n_steps):
        """Add the per-call auxiliary values to ``env`` (from its state, for a
        call of ``n_steps`` steps): whether each flagged signal may be nonzero,
        the gated rules' window rows (none yet), the transposes."""
        tf = self.tf
        for base in self.flagged:
            env[("nonzero", base)] = tf.reduce_any(tf.not_equal(env[base], 0))
        rule_step.start_windows(self, env, n_steps)
        for base in self.transposed:
            env[("transposed", base)] = tf.transpose(self.value(env, base))

    def finish(self, env):
        """Fold the change of a window still open into its trace (at a call's end)."""
        rule_step.finish_windows(self, env)

    def step(self, env):
        """Run every operator once on ``env`` (base signal -> tensor), in place;
        each operator's operations under its type's name (for profiles)."""
        for op, stepper in zip(self.ops, self.steppers):
            with self.tf.name_scope(type(op).__name__):
                stepper(env)
