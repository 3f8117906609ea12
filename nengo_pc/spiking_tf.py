"""Spiking inference of a `~nengo_pc.networks.FeedforwardNetwork` in plain TensorFlow.

The evaluation backend ``tensorflow`` (`TFSpikingBackend`): the same network
`nengo_dl.Simulator` runs spiking -- `nengo.LIF` neurons (gain 1, the layer's bias),
the same synapse on every weight connection, the same dt and the same initial
membrane voltages (sampled by Nengo's builder from the network seed) -- in one
compiled ``tf.function`` per chunk of images, without NengoDL's per-step signal
gathers and scatters:

* the images go ``chunk`` at a time (default 10), so a layer's state stays in the CPU
  caches through the dozen elementwise passes of a LIF step;
* a feedforward network without recurrence lets layer ``l`` run ``block`` steps
  before layer ``l + 1`` needs them (one convolution over ``block * chunk`` spike
  maps); the default block is 1 step, which measured fastest;
* with constant input and no input synapse the first layer's current is the same at
  every step, so its convolution runs once per image, not once per step, and only
  its neurons with current above threshold are simulated (the others never spike);
* with no output synapse and the mean (or lowpass) readout, the output is linear
  in the last layer's spike counts (or filtered spikes), so the output layer runs
  once per image.

None of these changes what is computed (float32, as NengoDL), only how often and in
what grouping; ``tests/test_spiking_tf.py`` checks the outputs against NengoDL's on
small networks. Synapses follow Nengo's discretisation (zero-order hold) and its
one-step delay of a filtered connection (the filter's output updates after the post
population has read it). Poisson input coding draws random numbers, which no two
simulators share; it stays with ``--backend nengo_dl``.

Why this exists: ``docs/performance.md`` (the profile of NengoDL's per-step graph and
the ratios against NengoDL's spiking-MNIST example).
"""

import numpy as np

#: Default number of time steps each layer runs before the next (see module
#: docstring). With chunks of 10 images, 1 step measured fastest
#: (``results/bench/spiking_profile.json``): the per-step state stays in cache.
DEFAULT_BLOCK = 1
#: Default number of images per compiled call: small enough that a layer's state
#: stays in the CPU caches (measured in ``docs/performance.md``).
DEFAULT_CHUNK = 10


def initial_voltages(arch, params, presentation, seed):
    """Initial membrane voltage of each hidden layer's LIF neurons, ``[(n,), ...]``.

    The values Nengo's builder samples for the `FeedforwardNetwork` with this seed,
    which are what `nengo_dl.Simulator` starts every image from.
    """
    import nengo

    from nengo_pc.networks.feedforward import FeedforwardNetwork
    from nengo_pc.training.backends import quiet_build

    net = FeedforwardNetwork(arch, params, seed=seed, **presentation.network_options())
    model = nengo.builder.Model(dt=presentation.dt)
    with quiet_build():
        model.build(net)
    return [np.asarray(model.sig[layer.neurons]["voltage"].initial_value, np.float32)
            for layer in net.layers]


def discrete_synapse(synapse, dt):
    """``(A, B, C)`` of ``synapse`` discretised as Nengo does it, or None for no synapse.

    Nengo steps a filter with no passthrough as ``x[t] = A x[t-1] + B u[t]``,
    ``y[t] = C x[t]`` (`nengo.LinearFilter`, zero-order hold).
    """
    if synapse is None:
        return None
    from nengo.utils.filter_design import cont2discrete, tf2ss

    A, B, C, D = tf2ss(synapse.num, synapse.den)
    A, B, C, D, _ = cont2discrete((A, B, C, D), dt, method=synapse.method)
    if np.any(D != 0):
        raise ValueError(f"synapse: {synapse} has a passthrough term, which the "
                         "tensorflow backend does not implement")
    return (np.asarray(A, np.float32), np.asarray(B, np.float32).ravel(),
            np.asarray(C, np.float32).ravel())


class TFSpikingBackend:
    """Evaluation backend: a LIF `FeedforwardNetwork` run spiking in TensorFlow.

    Parameters
    ----------
    arch : Architecture
        A ``"lif"`` network.
    params : Params
    batch_size : int
        Images per minibatch (an upper bound on ``chunk``).
    seed : int
        Network seed (initial voltages, as in NengoDL).
    progress : bool
        Unused (one compiled call per minibatch).
    presentation : nengo_pc.networks.presentation.Presentation
        Required: this backend only runs spiking.
    block : int
        Time steps a layer runs before the next layer takes them (memory grows with
        ``block * chunk``; 1 is NengoDL's step-by-step order).
    chunk : int
        Images per call of the compiled function (at most ``batch_size``).
    """

    def __init__(self, arch, params, batch_size, seed, progress=False, presentation=None,
                 block=DEFAULT_BLOCK, chunk=DEFAULT_CHUNK):
        if presentation is None:
            raise ValueError("backend: tensorflow runs spiking mode only (--mode "
                             "spiking); rate mode uses nengo_dl, nengo or keras")
        if arch.activation != "lif":
            raise ValueError(f"backend: tensorflow runs LIF networks, this one uses "
                             f"{arch.activation!r}")
        if presentation.input_coding != "constant":
            raise ValueError(f"input_coding: the tensorflow backend takes 'constant' "
                             f"input, got {presentation.input_coding!r}; use "
                             "--backend nengo_dl")
        for name, value in (("block", block), ("chunk", chunk)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                    or value < 1:
                raise ValueError(f"{name}: must be an integer >= 1, got {value!r}")
        import tensorflow as tf

        self.arch, self.presentation = arch, presentation
        self.block = int(min(block, presentation.n_steps))
        self.chunk = int(min(chunk, batch_size))
        self.synapse = discrete_synapse(presentation.network_options()["synapse"],
                                        presentation.dt)
        self.v0 = [tf.constant(v) for v in initial_voltages(arch, params, presentation,
                                                            seed)]
        self.weights = [tf.constant(np.asarray(w, np.float32)) for w in params.weights]
        self.biases = [tf.constant(np.asarray(b, np.float32)) for b in params.biases]
        self._run = tf.function(self._logits, reduce_retracing=True)

    # -- the network -------------------------------------------------------------
    def _linear(self, i, h):
        """Weight layer ``i`` (without bias) on flattened activities ``(M, n)``."""
        import tensorflow as tf

        arch = self.arch
        if not arch.is_conv(i):
            return tf.matmul(h, self.weights[i])
        layer, shape = arch.conv[i], arch.activation_shapes[i]
        out = tf.nn.conv2d(tf.reshape(h, (-1, *shape)), self.weights[i],
                           strides=layer.strides, padding=layer.padding.upper())
        return tf.reshape(out, (tf.shape(h)[0], -1))

    def _bias(self, i):
        """Bias of weight layer ``i`` per output unit (a conv bias is tied)."""
        import tensorflow as tf

        if not self.arch.is_conv(i):
            return self.biases[i]
        return tf.tile(self.biases[i], [self.arch.sizes[i + 1] // self.arch.conv[i].filters])

    def _lif(self, J, state):
        """One `nengo.LIF` step (NengoDL's float32 formulation); ``(spikes, state)``.

        The same arithmetic as NengoDL's ``LIFBuilder.step``, with the transcendental
        functions evaluated only where they matter: ``expm1(-delta_t / tau_rc)`` is a
        constant for neurons out of refractoriness (``delta_t = dt``) and 0 for those
        in it (``delta_t = 0``); only the few in their last, partial refractory step
        need it computed. ``log1p`` (the spike time within the step) is needed only
        for the neurons that spiked. With ~2% of neurons spiking per step this cuts
        the cost of a step several times (``docs/performance.md``).
        """
        import tensorflow as tf

        lif, dt = self.arch.lif, self.presentation.dt
        voltage, refractory = state
        free = tf.cast(refractory <= 0.0, J.dtype)
        factor = free * tf.math.expm1(tf.constant(-dt / lif.tau_rc, J.dtype))
        partial = tf.where((refractory > 0.0) & (refractory < dt))
        delta_t = dt - tf.gather_nd(refractory, partial)
        factor = tf.tensor_scatter_nd_update(
            factor, partial, tf.math.expm1(-delta_t / lif.tau_rc))
        voltage = voltage + (voltage - J) * factor
        spiked = voltage > 1.0
        spikes = tf.cast(spiked, J.dtype) * (lif.amplitude / dt)
        fired = tf.where(spiked)
        v_s, J_s = tf.gather_nd(voltage, fired), tf.gather_nd(J, fired)
        partial_ref = -lif.tau_rc * tf.math.log1p((1.0 - v_s) / (J_s - 1.0))
        refractory = tf.tensor_scatter_nd_update(refractory - dt, fired,
                                                 lif.tau_ref - partial_ref)
        voltage = tf.tensor_scatter_nd_update(tf.maximum(voltage, 0.0), fired,
                                              tf.zeros_like(v_s))
        return spikes, (voltage, refractory)

    def _filter(self, u, x):
        """One synapse step on ``u``; returns (value the post reads now, new state).

        The post reads the output of the previous step (Nengo's update order)."""
        import tensorflow as tf

        A, B, C = self.synapse
        y_prev = tf.tensordot(C, x, axes=1)
        x = tf.tensordot(A, x, axes=1) + B.reshape((-1,) + (1,) * (len(u.shape))) * u
        return y_prev, x

    def _logits(self, images):
        """Logits of a minibatch ``(B, n_in)`` after the whole presentation."""
        import tensorflow as tf

        arch, p = self.arch, self.presentation
        n_hidden, last = arch.n_layers - 1, arch.n_layers - 1
        batch = tf.shape(images)[0]
        synapse = self.synapse
        order = 0 if synapse is None else synapse[0].shape[0]
        # the first layer's current is the same at every step: computed once
        drive = self._linear(0, images)
        bias = [self._bias(i) for i in range(arch.n_layers)]
        states = []
        for i in range(n_hidden):
            n = arch.sizes[i + 1]
            v = tf.broadcast_to(self.v0[i][None], (batch, n))
            states.append((v, tf.zeros((batch, n))))
        if synapse is None:
            # Constant current J <= 1 from a voltage <= 1 keeps a LIF neuron below
            # threshold for ever (each step moves the voltage towards J): only the
            # first layer's other neurons need simulating (~15% on MNIST)
            J0 = drive + bias[0]
            active = tf.where((J0 > 1.0) | (states[0][0] > 1.0))
            J0 = tf.gather_nd(J0, active)
            v = tf.gather_nd(states[0][0], active)
            states[0] = (v, tf.zeros_like(v))
            first_shape = tf.shape(drive, out_type=tf.int64)
        filters = [tf.zeros((order, batch, arch.sizes[i + 1]))
                   for i in range(arch.n_layers)] if order else []
        total = tf.zeros((batch, arch.sizes[-2]))
        out_total = tf.zeros((batch, arch.sizes[-1]))
        # the lowpass readout filters what the others sum, y = a y + b x per
        # step, one step behind (Presentation.read)
        lowpass = p.readout == "lowpass"
        a, b = p.readout_filter() if lowpass else (None, None)

        def block(n_steps, states, filters, total, out_total, previous):
            states, filters = list(states), list(filters)
            currents = [drive] * n_steps  # weighted input of layer 0, per step
            for i in range(arch.n_layers):
                if synapse is not None:
                    filtered = []
                    for u in currents:
                        y, filters[i] = self._filter(u, filters[i])
                        filtered.append(y)
                    currents = filtered
                if i == last:
                    break
                spikes = []
                if i == 0 and synapse is None:  # the active neurons of layer 0
                    for _ in currents:
                        s, states[0] = self._lif(J0, states[0])
                        spikes.append(tf.ensure_shape(
                            tf.scatter_nd(active, s, first_shape), drive.shape))
                else:
                    for J in currents:
                        s, states[i] = self._lif(J + bias[i], states[i])
                        spikes.append(s)
                if i + 1 == last and synapse is None:
                    # the output layer is linear: sum (or filter) spikes now,
                    # weight them once
                    if lowpass:  # one step behind, as a filtered probe reads
                        for spike in [previous] + spikes[:-1]:
                            total = a * total + b * spike
                    else:
                        total = total + tf.add_n(spikes)
                    return states, filters, total, out_total, spikes[-1]
                stacked = self._linear(i + 1, tf.concat(spikes, axis=0))
                currents = tf.split(stacked, n_steps, axis=0)
            if lowpass:  # one step behind, as a filtered probe reads
                for value in [previous] + [c + bias[last] for c in currents[:-1]]:
                    out_total = a * out_total + b * value
            else:
                out_total = out_total + tf.add_n(currents) + n_steps * bias[last]
            return states, filters, total, out_total, currents[-1] + bias[last]

        n_blocks, rest = divmod(p.n_steps, self.block)

        def body(k, states, filters, total, out_total, last_value):
            states, filters, total, out_total, last_value = block(
                self.block, states, filters, total, out_total, last_value)
            return k + 1, states, filters, total, out_total, last_value

        width = arch.sizes[-2] if synapse is None else arch.sizes[-1]
        carry = (tf.constant(0), states, filters, total, out_total,
                 tf.zeros((batch, width)))
        if n_blocks:
            carry = tf.while_loop(lambda k, *_: k < n_blocks, body, carry)
        if rest:
            carry = (0, *block(rest, *carry[1:6]))
        _, _, _, total, out_total, last_value = carry
        if synapse is None:
            if lowpass:  # the filtered output: the filtered spikes, weighted, and
                # the bias filtered from 0 over all steps but the last
                return (self._linear(last, total)
                        + bias[last] * (1 - a ** (p.n_steps - 1)))
            spikes = total / p.n_steps if p.readout == "mean" else last_value
            return self._linear(last, spikes) + bias[last]
        if lowpass:
            return out_total
        return out_total / p.n_steps if p.readout == "mean" else last_value

    # -- the evaluation-backend interface -----------------------------------------
    def predict(self, x):
        """Logits ``(N, n_out)`` of flattened images ``x``, ``chunk`` at a time."""
        x = np.asarray(x, np.float32)
        return np.concatenate([self._run(x[i:i + self.chunk]).numpy()
                               for i in range(0, len(x), self.chunk)])

    def close(self):
        pass
