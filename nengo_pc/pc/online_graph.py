"""A cheaper NengoDL step for the online learning network, computing the same numbers.

NengoDL 3.6 computes a connection's transform ``Y = A X`` with a matrix ``A`` that
the minibatch items share (a fixed transform, or weights `LocalPC` learns into one
shared matrix, `nengo_pc.networks.learning.share_learned_weights`) as
``transpose(A @ transpose(X))`` (``nengo_dl.op_builders.DotIncBuilder``): two
transposes around every product, every step. On this 2-core machine's oneDNN
build a transpose of the small tensors involved costs ~0.1 ms, and the online
learning network has 18 such products: in a profile of the 784-500-10 network
(``benchmarks/online_profile.py``, docs/performance.md "Where online learning's
time goes") the transposes were 40% of the time spent in operations.

`transpose_free_products` is a NengoDL graph simplification that gives those
operators (`nengo_dl.op_builders.DotSet`, which NengoDL's own simplifications make
of a reset followed by a product, with a shared matrix and a minibatched input) a
builder that computes the same product as ``X @ A^T`` -- one batched matrix
product with the adjoint flag and two reshapes that copy nothing. The arithmetic
is the same matrix product with the operands' roles named differently, and the
learned numbers are equal bit for bit (``benchmarks/online_levers.py`` compares the
learned parameters and every output of the headline network, and
``benchmarks/online_same_path.py`` whole runs, against the previous code).

Nothing here imports TensorFlow at import time; `register_nengo_dl` does, when the
learning network configures NengoDL (`nengo_pc.pc.online_network`).
"""

from nengo.builder.operator import DotInc


class SharedDotSet(DotInc):
    """``Y = A X`` (setting Y, as `nengo_dl.op_builders.DotSet`) where the
    minibatch items share ``A`` and ``X`` is minibatched; built by
    `register_nengo_dl`'s builder without transposes. Made by
    `transpose_free_products`."""

    def __init__(self, A, X, Y, tag=None):
        super().__init__(A, X, Y, tag=tag)
        self.incs, self.sets = self.sets, self.incs  # a set, as NengoDL's DotSet

    @property
    def Y(self):
        """The product (in ``sets``)."""
        return self.sets[0]


def transpose_free_products(operators):
    """NengoDL graph simplification: `SharedDotSet` for every shared-matrix product.

    Replaces each ``DotSet`` whose matrix is not minibatched and whose input is
    (NengoDL marks the signals before it runs the simplifications) by a
    `SharedDotSet` with the same signals and tag; other operators are returned
    as they are. Give it after NengoDL's default simplifications (which make the
    ``DotSet`` operators)::

        nengo_dl.configure_settings(simplifications=(...)
            + nengo_dl.graph_optimizer.default_simplifications
            + (transpose_free_products,))

    Parameters
    ----------
    operators : list of nengo.builder.Operator

    Returns
    -------
    operators : list of nengo.builder.Operator
    """
    # pylint: disable=import-outside-toplevel
    from nengo_dl.op_builders import DotSet

    register_nengo_dl()
    changed = []
    for op in operators:
        if (type(op) is DotSet  # pylint: disable=unidiomatic-typecheck
                and not op.A.minibatched and op.X.minibatched
                and op.Y.minibatched and op.A.ndim == 2):
            op = SharedDotSet(op.A, op.X, op.Y, tag=op.tag)
        changed.append(op)
    return changed


_REGISTERED = []


def register_nengo_dl():
    """Register the NengoDL builder of `SharedDotSet` (once; imports TensorFlow)."""
    if _REGISTERED:
        return
    # pylint: disable=import-outside-toplevel
    import tensorflow as tf
    from nengo_dl.builder import Builder
    from nengo_dl.op_builders import DotIncBuilder

    @Builder.register(SharedDotSet)
    class SharedDotSetBuilder(DotIncBuilder):
        """``Y = X @ A^T`` for a group of one `SharedDotSet` (NengoDL's transposing
        step for a merged group, which the online network's planner never makes)."""

        def build_pre(self, signals, config):
            super().build_pre(signals, config)
            self.mode = "update"  # NengoDL's builder tests the exact type DotInc

        def build_step(self, signals):
            if len(self.ops) != 1:
                super().build_step(signals)
                return
            a = signals.gather(self.A_data)  # (1, a0, a1)
            x = signals.gather(self.X_data)  # (batch, 1, a1)
            batch, n_in, n_out = signals.minibatch_size, a.shape[2], a.shape[1]
            dot = tf.matmul(tf.reshape(x, (1, batch, n_in)), a, adjoint_b=True)
            signals.scatter(self.Y_data, tf.reshape(dot, (batch, 1, n_out)),
                            mode=self.mode)

    del SharedDotSetBuilder  # registered
    _REGISTERED.append(True)


__all__ = ["SharedDotSet", "register_nengo_dl", "transpose_free_products"]
