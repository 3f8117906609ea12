"""The step of this project's local learning rule in `StepCompiler`'s TensorFlow.

`local_pc_step` turns a `~nengo_pc.networks.learning.SimLocalPC` operator into the
operations of one step, as NengoDL's builder of the rule computes it, with the
weights the minibatch shares; `start_windows` and `finish_windows` give a large
gated rule's learning window its per-call state. Apart from
`nengo_pc.pc.step_compiler` because the rule has three paths (ungated, small
gated, large gated) and the large one its own bookkeeping (see
`~nengo_pc.pc.step_compiler.StepCompiler` for what each path skips).
"""

from nengo_pc.networks.learning import encoder_product
from nengo_pc.networks.pairs import is_pair_encoders

#: A gated `LocalPC` whose trace has at least this many entries skips, by
#: conditionals, the work its closed window does not need and computes its
#: window's change as one product; smaller ones compute NengoDL's arithmetic
#: every step.
CONDITIONAL_TRACE = 100000


def local_pc_step(compiler, op):
    """The step of a `~nengo_pc.networks.learning.SimLocalPC` operator for
    ``compiler`` (a `~nengo_pc.pc.step_compiler.StepCompiler`): NengoDL's builder of
    the rule (`nengo_pc.networks.learning`), with the weights shared by the
    minibatch. A large gated rule registers its window in ``compiler.windows``
    (`start_windows`, `finish_windows`)."""
    tf = compiler.tf
    if op.delta.base not in compiler.shared:
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

    def inputs(env):
        """The rule's error, its gate (None unless gated: the error signal's
        last column) and its presynaptic activities."""
        gate = None if op.trace is None else compiler.columns(env, op.error, d, d + 1)
        return (compiler.columns(env, op.error, 0, d), gate,
                compiler.read(env, op.pre_filtered))

    def factors(error, gate, pre):
        """The change's two factors (``change = local^T @ pre``, in pair-coded
        block form, see `expand`), the gate's root in each when gated."""
        local, pre = post(error), pre_enc(pre)
        if gate is not None:
            root = tf.sqrt(tf.abs(gate))
            local *= tf.sign(gate) * root
            pre *= root
        return local, pre

    def change(error, gate, pre):
        """The change in pair-coded block form (see `expand`)."""
        return tf.matmul(*factors(error, gate, pre), transpose_a=True)

    if op.trace is None:
        def step(env):
            compiler.write(env, op.delta, expand(change(*inputs(env)) * scale), inc=False)
        return step

    if op.trace.size < CONDITIONAL_TRACE:
        # NengoDL's builder without conditionals (a conditional costs more
        # than these small products): its selects by the window's state as
        # products by 1 or 0, the same numbers (finite ones), for less time
        # than a select that broadcasts a scalar condition
        def small_step(env):
            error, gate, pre = inputs(env)
            trace = compiler.read(env, op.trace)
            is_open = tf.cast(tf.reduce_any(tf.not_equal(gate, 0)), tf.float32)
            compiler.write(env, op.trace, (trace + expand(change(error, gate, pre) * scale))
                       * is_open, inc=False)
            compiler.write(env, op.delta, trace * (1 - is_open), inc=False)
        return small_step

    # gated: every step of an open window keeps its factors' rows (the rows
    # of `factors`); when the window closes, or the call ends (`finish`), the
    # window's change is one product of the stacked rows (a sum over the
    # window's steps and the minibatch), scaled and added to the trace.
    # NengoDL adds every step's scaled product to the trace, so the two
    # differ by rounding; one large product is several times faster than
    # a small product and a large sum every step
    key = op.trace.base
    n_post = d if post_pair else op.trace.shape[0]
    n_pre = op.pre_encoders.shape[1] if pre_pair else op.trace.shape[1]

    def window_change(count, local_rows, pre_rows):
        """The window's summed change in block form: one product."""
        steps = tf.range(count)
        return tf.matmul(tf.reshape(local_rows.gather(steps), (-1, n_post)),
                         tf.reshape(pre_rows.gather(steps), (-1, n_pre)),
                         transpose_a=True)

    def fold(trace, rows, t_flag):
        """The trace with the window's change added (the trace is often 0)."""
        full = expand(window_change(*rows) * scale)
        return tf.cond(t_flag, lambda: trace + full, lambda: full)

    compiler.windows.append((key, fold, (n_post, n_pre)))

    def step(env):
        error, gate, pre = inputs(env)
        trace, delta = compiler.read(env, op.trace), compiler.read(env, op.delta)
        count = env[("rows", key)]
        t_flag = env[("nonzero", key)]
        d_flag = env[("nonzero", op.delta.base)]
        is_open = tf.reduce_any(tf.not_equal(gate, 0))
        yes, no, none = tf.constant(True), tf.constant(False), tf.constant(0)
        # written every step at the window's next row; it stays only when
        # the window is open (a closed window's rows are 0 and overwritten)
        local, pre = factors(error, gate, pre)
        rows = (count, env[("local rows", key)].write(count, local),
                env[("pre rows", key)].write(count, pre))

        def cleared():
            return tf.cond(d_flag, lambda: tf.zeros_like(delta), lambda: delta)

        def learn():
            return trace, cleared(), count + 1, t_flag, no

        def close():
            return tf.cond(
                t_flag | (count > 0),
                lambda: (tf.zeros_like(trace), fold(trace, rows, t_flag), none,
                         no, yes),
                lambda: (trace, cleared(), count, no, no))

        trace, delta, count, t_flag, d_flag = tf.cond(is_open, learn, close)
        compiler.write(env, op.trace, trace, inc=False)
        compiler.write(env, op.delta, delta, inc=False)
        env[("rows", key)], env[("local rows", key)], env[("pre rows", key)] = (
            count, rows[1], rows[2])
        env[("nonzero", key)] = t_flag
        env[("nonzero", op.delta.base)] = d_flag
    return step



def start_windows(compiler, env, n_steps):
    """Add the large gated rules' window state for a call of ``n_steps`` steps to
    ``env``: no rows yet, room for one per step."""
    tf = compiler.tf
    for base, _, (n_post, n_pre) in compiler.windows:
        env[("rows", base)] = tf.constant(0)
        for name, n in (("local rows", n_post), ("pre rows", n_pre)):
            env[(name, base)] = tf.TensorArray(
                tf.float32, size=n_steps, element_shape=(compiler.batch_size, n))


def finish_windows(compiler, env):
    """Fold the change of a window still open at a call's end into its trace."""
    tf = compiler.tf
    for base, fold, _ in compiler.windows:
        rows = tuple(env[(name, base)] for name in ("rows", "local rows", "pre rows"))
        trace, t_flag = env[base], env[("nonzero", base)]
        env[base] = tf.cond(rows[0] > 0,
                            lambda t=trace, r=rows, f=fold, g=t_flag: f(t, r, g),
                            lambda t=trace: t)
