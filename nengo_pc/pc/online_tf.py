"""Online learning's network in plain TensorFlow: its Nengo operators, compiled.

`OnlineTFSimulator` has the interface of `nengo_pc.pc.online_network.OnlineSimulator`
(``train``, ``outputs``, ``params``, ``state``, ``restore``, ``close``) and runs the
same network -- the `learning_network` it is given -- without NengoDL. It builds
that network with NengoDL's own Nengo builder (``nengo_dl.builder.NengoModel``,
float32 signals, the network's seed: the same neurons, gains, biases, initial
voltages, synapses, transforms, `~nengo_pc.networks.learning.LocalPC` rules and
gates as ``nengo_dl.Simulator``), orders the builder's operators
(`~nengo_pc.pc.step_signals.stable_order`) and runs them as
`~nengo_pc.pc.step_compiler.StepCompiler` translates them, in one ``tf.function``
per kind of call (training, evaluation): a ``tf.while_loop`` over the call's steps.
Nothing about the topology is written here or there; a network with an operator
the compiler does not know is refused (ValueError naming ``simulator``).

As in NengoDL, the learned weights are one matrix the minibatch shares (what
`~nengo_pc.networks.learning.share_learned_weights` makes them there), training
calls carry every slot's state on to the next call (NengoDL's stateful calls) and
evaluation calls start from that state and leave it as it was. The numbers agree
with NengoDL's to float32 rounding, until rounding flips a spike
(``tests/test_online_tf.py``); the speed is in docs/performance.md. `train_online`
selects it with ``simulator="tensorflow"``.
"""

import re

import numpy as np

from nengo_pc.networks.learning import SimLocalPC
from nengo_pc.pc.online_network import OnlineSimulator, check_state
from nengo_pc.pc.step_compiler import StepCompiler
from nengo_pc.pc.step_signals import stable_order


class OnlineTFSimulator(OnlineSimulator):
    """A `learning_network` run by `StepCompiler` in TensorFlow, not NengoDL.

    The interface and the parameters of `OnlineSimulator` (``train``, ``outputs``,
    ``params``, ``state``, ``restore``, ``close``). Training calls carry every
    minibatch slot's state and the shared weights on (NengoDL's stateful calls);
    evaluation calls start from the same state and leave it as it was.

    Parameters
    ----------
    net, presentation, batch_size, dt, seed, input_coding, max_rate
        As for `OnlineSimulator`.
    """

    def __init__(self, net, presentation, batch_size, *, dt, seed, input_coding,
                 max_rate):
        # pylint: disable=super-init-not-called,import-outside-toplevel
        import tensorflow as tf
        from nengo.rc import rc as nengo_rc
        from nengo_dl.builder import NengoBuilder, NengoModel

        from nengo_pc.training.backends import quiet_build

        self.net, self.presentation, self.batch_size = net, presentation, batch_size
        self.dt, self.input_coding, self.max_rate = dt, input_coding, max_rate
        self.seed = seed
        # the model NengoDL builds: its builder, float32 signals
        precision = nengo_rc.get("precision", "bits")
        nengo_rc.set("precision", "bits", "32")
        try:
            model = NengoModel(dt=float(dt), label=f"{net}, dt={dt:f}",
                               builder=NengoBuilder(), fail_fast=False)
            with quiet_build():
                model.build(net)
        finally:
            nengo_rc.set("precision", "bits", precision)
        self.model = model
        operators = stable_order(model.operators)
        fed_nodes = (net.images, net.targets, net.mode_node, net.learning_gate)
        self.fed = [model.sig[node]["out"].base for node in fed_nodes]
        shared = {s.base for op in operators if isinstance(op, SimLocalPC)
                  for s in (op.weights, op.delta, op.trace) if s is not None}
        self.compiler = StepCompiler(operators, set(self.fed), shared, dt, batch_size)
        # every probe is recorded at every step (the learning network has one)
        self.probes = list(net.all_probes)
        self.probe_signals = [model.sig[probe]["in"] for probe in self.probes]
        # names stable across processes (a checkpoint's keys): the builder's order,
        # without the memory addresses some signal names include
        self.names = [f"{i}:{re.sub(' at 0x[0-9a-f]+|0x[0-9a-f]+', '', base.name)}"
                      for i, base in enumerate(self.compiler.carried)]
        self._state = [tf.constant(self.compiler.initial(base))
                       for base in self.compiler.carried]
        # autograph off: every Python loop and condition here is over the
        # network's structure, fixed when tracing (the step's conditions are tf.cond)
        self._call = tf.function(self._steps, autograph=False)

    def _steps(self, state, inputs):
        """Every step of a call: ``inputs`` ``(T, B, n)`` per fed node."""
        import tensorflow as tf

        compiler, carried = self.compiler, self.compiler.carried
        n_steps = tf.shape(inputs[0])[0]

        env = dict(zip(carried, state))
        compiler.start(env, n_steps)
        aux = sorted((k for k in env if isinstance(k, tuple)), key=str)

        def body(t, state, aux_values, outs):
            env = dict(zip(carried, state))
            env.update(zip(aux, aux_values))
            for base, x in zip(self.fed, inputs):
                env[base] = x[t]
            compiler.step(env)
            out = [compiler.read(env, sig) for sig in self.probe_signals]
            return (t + 1, [compiler.value(env, b) for b in carried],
                    [env[k] for k in aux],
                    [ta.write(t, o) for ta, o in zip(outs, out)])

        _, state, aux_values, outs = tf.while_loop(
            lambda t, *_: t < n_steps, body,
            (tf.constant(0), list(state), [env[k] for k in aux],
             [tf.TensorArray(tf.float32, n_steps) for _ in self.probe_signals]))
        outs = [ta.stack() for ta in outs]
        env = dict(zip(carried, state))
        env.update(zip(aux, aux_values))
        compiler.finish(env)
        return [env[b] for b in carried], outs

    def _run(self, images, targets, modes, gate, rng, stateful):
        n_steps = gate.shape[1]
        inputs = [self._inputs(images, n_steps, rng),
                  np.repeat(np.asarray(targets, np.float32)[:, None, :], n_steps, axis=1),
                  np.asarray(modes, np.float32), np.asarray(gate, np.float32)]
        inputs = [np.ascontiguousarray(np.swapaxes(x, 0, 1), np.float32) for x in inputs]
        state, outs = self._call(self._state, inputs)
        if stateful:
            self._state = state
        # (B, T, ...) as NengoDL returns probe data
        self.probe_data = {probe: np.swapaxes(out.numpy(), 0, 1)
                           for probe, out in zip(self.probes, outs)}
        return self.probe_data[self.net.online_output]

    def close(self):
        """Nothing to release (the state is dropped with the object)."""

    def traced(self):
        """The TensorFlow functions its calls have traced so far (for profiles:
        ``benchmarks/online_tf_ops.py`` counts a step's operations)."""
        return self._call._list_all_concrete_functions()  # pylint: disable=W0212

    def _current(self):
        return dict(zip(self.compiler.carried, self._state))

    def params(self):
        """The learned parameters, read from the shared weights (float32)."""
        return self.net.params_from(self)

    @property
    def signals(self):
        """``{signal: ndarray}`` of the current state, for `params_from`."""
        compiler, env = self.compiler, self._current()

        class Signals:  # pylint: disable=too-few-public-methods
            def __getitem__(self, sig):
                return np.asarray(compiler.read(env, sig))

        return Signals()

    def state(self):
        """The simulator's state: ``{name: ndarray}`` (every carried signal: the
        learned weights, their traces, neuron voltages, synapse states)."""
        return {name: np.asarray(value) for name, value in zip(self.names, self._state)}

    def restore(self, state):
        """Set the state to ``state`` (from `state`, same network).

        Raises
        ------
        ValueError
            Naming ``resume``, if ``state`` does not have this simulator's arrays.
        """
        import tensorflow as tf

        check_state(self.state(), state)
        self._state = [tf.constant(np.asarray(state[name], np.float32))
                       for name in self.names]
