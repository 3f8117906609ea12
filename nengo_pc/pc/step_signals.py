"""The signal bookkeeping of `~nengo_pc.pc.step_compiler.StepCompiler`: the
operators' order, which signals a step changes, where a view's elements are in
its base, and the markers for signals a step has reset (`Zero`) or written in
runs of columns (`Parts`)."""

import numpy as np

#: `take` gathers columns that form more runs than this.
MAX_RUNS = 8


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


class Parts:  # pylint: disable=too-few-public-methods
    """A 1-d signal written in runs of columns since a ``Reset`` to 0 (a rule's
    error and gate, a node's two halves): ``pieces`` maps each run's first
    column to ``(end, tensor)``. A read of one run is that tensor; the joined
    signal (zeros between the runs) is made only when it is read whole."""

    def __init__(self, shape, pieces):
        self.shape, self.pieces = shape, pieces

    def overlaps(self, start, end):
        """Whether columns ``start:end`` meet a run other than exactly it."""
        return any(s < end and start < e and (s, e) != (start, end)
                   for s, (e, _) in self.pieces.items())


def changed_signals(op):
    """The signals a step of ``op`` changes here: those it sets, increments or
    updates, but of a first-order filter (`StepCompiler` runs no other) only its
    output, which is its state; Nengo's state signal for it stays as built."""
    if type(op).__name__ == "SimProcess":
        return [op.output]
    return op.sets + op.incs + op.updates


def positions(sig):
    """Flat positions of a signal's elements in its base, shape ``sig.shape``."""
    base = sig.base
    index = np.arange(max(base.size, 1)).reshape(base.shape)
    if not sig.is_view:
        return index
    strides = tuple(s * index.itemsize for s in sig.elemstrides)
    return np.lib.stride_tricks.as_strided(index.ravel()[sig.elemoffset:],
                                           shape=sig.shape, strides=strides).copy()
