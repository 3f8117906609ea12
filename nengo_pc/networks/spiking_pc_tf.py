"""Spiking PC inference in mode ``"sweep"`` in plain TensorFlow, layer by layer.

`SweepInference` runs the network `nengo_pc.networks.spiking.spiking_inference`
builds -- the spiking `~nengo_pc.networks.PredictiveCodingNetwork`, in mode
``"sweep"`` for the whole presentation, constant input -- and returns what NengoDL
records of it (the input current of every value and error pair population at every
step, the spike counts of every population), without NengoDL's per-step signal
gathers and scatters. It is the same network: the same neuron types with NengoDL's
float32 arithmetic (`nengo.SpikingRectifiedLinear` pairs, `nengo.LIF` or
integrate-and-fire activities), the same gains, biases and initial voltages (read
from Nengo's builder of that very network, so the network seed sets them as in
NengoDL), the same synapses (Nengo's zero-order-hold discretisation, the one-step
delay of a filtered connection), the same dt, float32.

What makes it fast is the structure of mode ``"sweep"``:

* the top-down feedback is inhibited (``feedback l`` and ``teacher`` get -1000 of
  current and never spike; the slope gates then output f'(x) * 0 = 0), so layer l
  depends on layer l - 1 only through the spikes of its activity population:
  each layer runs all its steps before the next one starts, and the prediction
  currents of a layer are one matrix product over all steps and images of a chunk
  (``(steps * images, n_pre) @ W``), not one small product per step;
* a pair population receives ``[u, -u]`` (encode, relay and the prediction
  transforms ``-[W^T; -W^T]`` are antisymmetric), so its input is computed once as
  the signed u; both halves still integrate and fire as NengoDL's neurons do;
* the bias neuron's spikes are the same for every image (computed once).

Nothing is approximated: the inhibition is assumed to exceed every gated signal,
which is the network's own condition (``inhibition`` of
`~nengo_pc.networks.PredictiveCodingNetwork`). Sums of several inputs and the
matrix products may add in another order than NengoDL, so currents agree to
float32 rounding (``tests/test_spiking_pc_tf.py`` checks the recorded outputs and
spike counts against NengoDL on small networks). Free PC inference (``sweep_time``
< ``duration``) couples the layers every step and is refused; so is Poisson input
(random numbers no two simulators share).

Why this exists: ``docs/performance.md`` (NengoDL ran this network at 21-25
images/s; the profile and the ratio are there).
"""

import nengo
import numpy as np
from nengo.builder.network import seed_network

#: Default number of images per compiled call (measured in docs/performance.md).
DEFAULT_CHUNK = 100


class Filter:
    """A Nengo synapse discretised as NengoDL steps it, on float32 tensors.

    ``synapse`` None: the post reads the input of the same step. A first-order
    filter (`nengo.Lowpass`): ``y <- a y + b u`` with ``b = B C`` (NengoDL's
    ``OneX``); higher orders without passthrough (`nengo.Alpha`): ``x <- A x + B u``,
    ``y = C x`` (``NoD``). The post reads ``y`` of the previous step, since a filter
    is an update operator.
    """

    def __init__(self, synapse, dt):
        self.order = 0
        if synapse is None:
            return
        from nengo.utils.filter_design import cont2discrete, tf2ss

        A, B, C, D = tf2ss(synapse.num, synapse.den)
        A, B, C, D, _ = cont2discrete((A, B, C, D), dt, method=synapse.method)
        if np.any(D != 0):
            raise ValueError(f"synapse: {synapse} has a passthrough term, which the "
                             "tensorflow backend does not implement")
        self.order = len(A)
        if self.order == 1:
            self.a, self.b = np.float32(A[0, 0]), np.float32(B[0, 0] * C[0, 0])
        else:
            self.A, self.B, self.C = (np.asarray(m, np.float32) for m in (A, B.ravel(),
                                                                          C.ravel()))

    def zeros(self, shape):
        """Initial state (a tuple of tensors; empty without a synapse)."""
        import tensorflow as tf

        if self.order == 0:
            return ()
        return tuple(tf.zeros(shape) for _ in range(self.order + (self.order > 1)))

    def read(self, state, u):
        """What the post reads this step, given this step's input ``u``."""
        return u if self.order == 0 else state[-1] if self.order > 1 else state[0]

    def update(self, state, u):
        """The state after this step's input ``u``."""
        if self.order == 0:
            return ()
        if self.order == 1:
            return (self.a * state[0] + self.b * u,)
        x = state[:-1]
        new = tuple(sum(self.A[k, j] * x[j] for j in range(self.order)) + self.B[k] * u
                    for k in range(self.order))
        return (*new, sum(self.C[k] * new[k] for k in range(self.order)))


def spiking_relu(J, voltage, dt, alpha):
    """One `nengo.SpikingRectifiedLinear` step (NengoDL's float32 arithmetic).

    Returns ``(output, spike count, voltage)``.
    """
    import tensorflow as tf

    voltage = voltage + tf.nn.relu(J) * dt
    n_spikes = tf.floor(voltage)
    return n_spikes * alpha, n_spikes, voltage - n_spikes


def lif(J, voltage, refractory, dt, alpha, lif_type):
    """One `nengo.LIF` step as NengoDL's ``LIFBuilder`` computes it (min voltage 0).

    Returns ``(output, spike count, voltage, refractory time)``.
    """
    import tensorflow as tf

    tau_rc, tau_ref = np.float32(lif_type.tau_rc), np.float32(lif_type.tau_ref)
    delta_t = tf.clip_by_value(dt - refractory, 0.0, dt)
    voltage = voltage + (voltage - J) * tf.math.expm1(-delta_t / tau_rc)
    spiked = voltage > 1.0
    count = tf.cast(spiked, J.dtype)
    partial_ref = -tau_rc * tf.math.log1p((1.0 - voltage) / (J - 1.0))
    refractory = tf.where(spiked, tau_ref - partial_ref, refractory - dt)
    voltage = tf.where(spiked, tf.zeros_like(voltage), tf.maximum(voltage, 0.0))
    return count * alpha, count, voltage, refractory


class SweepInference:
    """The spiking PC network of `spiking_inference`, run in mode sweep in TensorFlow.

    Parameters
    ----------
    net : PredictiveCodingNetwork
        Built by `nengo_pc.networks.spiking.inference_network` (spiking, mode
        sweep throughout, constant input), with its spike counter.
    params : Params
        The parameters ``net`` was built with.
    n_steps : int
        Steps per image.
    dt : float
    fan_out : dict
        Population label -> synapses leaving each neuron (`fan_out`).
    labels : list of str
        Population labels, in the order of the spike counts returned.
    record_states : bool
        Also return the input currents of the hidden values and all errors.
    chunk : int
        Images per compiled call.
    jit_compile : bool
        Compile with XLA. It fuses the dozens of elementwise operations of a step
        (measured 1.35 times less CPU time per image), but its arithmetic is not
        NengoDL's (a spike flips within 100 ms on a small relu network, presumably
        fused multiply-adds), so it is off by default (``docs/performance.md``).
    """

    def __init__(self, net, params, n_steps, dt, fan_out, labels, record_states=False,
                 chunk=DEFAULT_CHUNK, jit_compile=False):
        import tensorflow as tf

        from nengo_pc.training.backends import quiet_build

        if net.input_coding != "constant":
            raise ValueError(f"input_coding: the tensorflow backend takes 'constant' "
                             f"input, got {net.input_coding!r}; use backend='nengo_dl'")
        if not net.spiking or net.learning_rate is not None:
            raise ValueError("net: the tensorflow backend runs spiking networks "
                             "without learning (spiking=True, learning_rate=None)")
        mode = net.mode
        modes = {mode(k * dt) if callable(mode) else mode for k in range(1, n_steps + 1)}
        if modes != {"sweep"}:
            raise ValueError(f"net: the tensorflow backend runs mode 'sweep' only, the "
                             f"network's mode gives {sorted(modes)}")
        self.net, self.n_steps, self.labels = net, int(n_steps), list(labels)
        self.record_states, self.chunk = bool(record_states), int(chunk)
        self.dt = np.float32(dt)
        # Nengo's builder of the ensembles alone, seeded as when it builds the whole
        # network: their initial states, gains and biases are NengoDL's (the
        # connections' transforms, half of a full build's time, are not needed)
        model = nengo.builder.Model(dt=float(dt))
        seed_network(net, model.seeds, model.seeded)
        with quiet_build():
            for ens in net.all_ensembles:
                model.build(ens)
        self.model = model
        self.synapse, self.integrator = Filter(net.synapse, dt), Filter(
            nengo.Lowpass(net.tau), dt)
        pair = net.pair_neuron_type
        self.pair_alpha = np.float32(pair.amplitude) / self.dt
        self.gain = {ens: np.asarray(model.params[ens].gain, np.float32)
                     for ens in net.all_ensembles}
        # (n, 2): ones and the fan-out, to sum spikes and synops in one product
        self.fan_out = {label: tf.constant(np.stack(
            [np.ones(len(fan_out[label])), fan_out[label]], axis=1).astype(np.float32))
            for label in labels}
        # the weights as NengoDL sees them: float32 of the transforms' float64
        self.weights = [tf.constant(np.asarray(-np.asarray(w, np.float64), np.float32))
                        for w in params.weights]
        self.bias_drive = self._bias_drive(params)
        self._run = tf.function(self._chunk, jit_compile=jit_compile,
                                reduce_retracing=True)

    # -- constants of the built network -------------------------------------------
    def voltage(self, ens, key="voltage"):
        """Initial state ``key`` of an ensemble's neurons, from Nengo's builder."""
        return np.asarray(self.model.sig[ens.neurons][key].initial_value, np.float32)

    def _bias_drive(self, params):
        """Per layer, ``(n_steps, n_l)``: the bias connection's input to error l
        (``-b_l`` times the bias neuron's output), and that neuron's spike counts."""
        net = self.net
        ens = net.bias
        J = np.asarray(self.model.params[ens].bias, np.float32)
        v = self.voltage(ens)
        out, counts = np.zeros(self.n_steps, np.float32), np.zeros(self.n_steps)
        for t in range(self.n_steps):  # float32 throughout, as the TF step
            v = v + np.maximum(J, np.float32(0)) * self.dt
            n_spikes = np.floor(v)
            v = v - n_spikes
            out[t] = (n_spikes * self.pair_alpha)[0]
            counts[t] = n_spikes[0]
        self.bias_counts = counts
        drives = []
        for l in range(1, net.arch.n_layers + 1):
            weight = np.asarray(-np.asarray(params.biases[l - 1], np.float64),
                                np.float32)
            drives.append(weight[None, :] * out[:, None])
        return drives

    # -- the simulation -------------------------------------------------------------
    def _pair(self, J, v):
        """A pair population receiving ``[J, -J]``: signed output, counts, voltage."""
        import tensorflow as tf

        out, n_spikes, v = spiking_relu(tf.concat([J, -J], axis=1), v, self.dt,
                                        self.pair_alpha)
        half = J.shape[-1]
        return out[:, :half] - out[:, half:], n_spikes, v

    def _voltages(self, ens, batch, key="voltage"):
        """Initial state ``key`` of ``ens``, tiled over a batch."""
        import tensorflow as tf

        v0 = self.voltage(ens, key)
        return tf.broadcast_to(tf.constant(v0)[None], (batch, len(v0)))

    def _count(self, label, n_spikes):
        """(spikes, synops) in a step, summed over images and neurons."""
        import tensorflow as tf

        return tf.tensordot(tf.reduce_sum(n_spikes, axis=0), self.fan_out[label], 1)

    def _input_layer(self, images):
        """Signed outputs of ``value 0`` at every step ``(T, B, n_0)`` and counts."""
        import tensorflow as tf

        net, syn = self.net, self.synapse
        ens = net.values[0]
        g = self.gain[ens][0]
        batch = tf.shape(images)[0]

        def body(t, v, f, outs, counts):
            z, n, v = self._pair(g * syn.read(f, images), v)
            return (t + 1, v, syn.update(f, images), outs.write(t, z),
                    counts.write(t, self._count(ens.label, n)))

        _, _, _, outs, counts = tf.while_loop(
            lambda t, *_: t < self.n_steps, body,
            (0, self._voltages(ens, batch), syn.zeros(tf.shape(images)),
             tf.TensorArray(tf.float32, self.n_steps), tf.TensorArray(tf.float32,
                                                                        self.n_steps)))
        return outs.stack(), {ens.label: counts.stack()}

    def _layer(self, l, pre):
        """Layer l over all steps, given the presynaptic outputs ``(T, B, n_{l-1})``.

        Returns the activity outputs (``(T, B, n_l)``, None for the output layer),
        the value's and error's input currents (``(T, B, n_l)``: the first half of
        each pair's; the second is its negative) and the counts by label.
        """
        import tensorflow as tf

        net, syn, integ, dt = self.net, self.synapse, self.integrator, self.dt
        last = l == net.arch.n_layers
        n, T = net.arch.sizes[l], self.n_steps
        batch = tf.shape(pre)[1]
        predicted = tf.reshape(
            tf.matmul(tf.reshape(pre, (-1, pre.shape[-1])), self.weights[l - 1]),
            (T, batch, n))
        bias = tf.constant(self.bias_drive[l - 1])
        value, error = net.values[l], net.errors[l]
        act = None if last else net.activities[l]
        other = net.output_drive if last else None  # the output's free drive
        gv, ge = self.gain[value][0], self.gain[error][0]
        shape = (batch, n)
        pops = [value, error] + [p for p in (act, other) if p is not None]

        def body(t, v, f, outs):
            u, b = predicted[t], bias[t]
            counts = {}
            # value l: its own recurrence and its error (hidden) or free drive
            # (output) through the integrator synapse
            Jv = gv * integ.read(f["self"], None) + gv * integ.read(f["in"], None)
            zv, counts[value], v["value"] = self._pair(Jv, v["value"])
            # the activity reads the value through the same synapse (decode(n)
            # carries the same signal as the first half of relay(n))
            y = syn.read(f["ev"], zv)
            Je = ge * y + ge * syn.read(f["pred"], u) + ge * syn.read(f["bias"], b)
            ze, counts[error], v["error"] = self._pair(Je, v["error"])
            f["self"], f["ev"] = integ.update(f["self"], zv), syn.update(f["ev"], zv)
            f["pred"], f["bias"] = syn.update(f["pred"], u), syn.update(f["bias"], b)
            if last:
                gd = self.gain[other][0]
                zd, counts[other], v["drive"] = self._pair(
                    gd * syn.read(f["drive"], -ze), v["drive"])
                f["in"], f["drive"] = integ.update(f["in"], zd), syn.update(f["drive"],
                                                                            -ze)
            else:
                f["in"] = integ.update(f["in"], -ze)
                if act is not None:
                    Ja = self.gain[act][0] * y
                    za, counts[act], v["act"] = self._activity(act, Ja, v["act"])
                else:  # linear: the value pairs predict the next layer
                    za = zv
                outs["act"] = outs["act"].write(t, za)
            outs["value"] = outs["value"].write(t, Jv)
            outs["error"] = outs["error"].write(t, Je)
            outs["counts"] = outs["counts"].write(t, tf.stack(
                [self._count(p.label, counts[p]) for p in pops]))
            return t + 1, v, f, outs

        v = {"value": self._voltages(value, batch),
             "error": self._voltages(error, batch)}
        f = {"self": integ.zeros(shape), "in": integ.zeros(shape),
             "ev": syn.zeros(shape), "pred": syn.zeros(shape), "bias": syn.zeros((n,))}
        if last:
            v["drive"], f["drive"] = self._voltages(other, batch), syn.zeros(shape)
        elif act is not None:
            v["act"] = self._activity_state(act, batch)
        outs = {key: tf.TensorArray(tf.float32, T) for key in ("act", "value", "error",
                                                              "counts")}
        _, _, _, outs = tf.while_loop(lambda t, *_: t < T, body, (0, v, f, outs))
        counts = outs["counts"].stack()
        return (None if last else outs["act"].stack(), outs["value"].stack(),
                outs["error"].stack(),
                {p.label: counts[:, k] for k, p in enumerate(pops)})

    def _activity_state(self, ens, batch):
        if isinstance(ens.neuron_type, nengo.LIF):
            return (self._voltages(ens, batch),
                    self._voltages(ens, batch, "refractory_time"))
        return (self._voltages(ens, batch),)

    def _activity(self, ens, J, state):
        """One step of the activities: LIF, or integrate-and-fire for ``"relu"``."""
        ntype = ens.neuron_type
        alpha = np.float32(ntype.amplitude) / self.dt
        if isinstance(ntype, nengo.LIF):
            out, count, v, ref = lif(J, state[0], state[1], self.dt, alpha, ntype)
            return out, count, (v, ref)
        out, count, v = spiking_relu(J, state[0], self.dt, alpha)
        return out, count, (v,)

    def _chunk(self, images):
        """Everything recorded for a chunk of images (see `run`)."""
        import tensorflow as tf

        pre, counts = self._input_layer(images)
        currents = []
        for l in range(1, self.net.arch.n_layers + 1):
            pre, value, error, layer_counts = self._layer(l, pre)
            counts.update(layer_counts)
            currents.append((value, error))
        zero = tf.zeros((self.n_steps, 2))
        table = tf.concat([counts.get(label, zero) for label in self.labels], axis=1)
        if not self.record_states:
            currents = currents[-1:]
        return [tf.transpose(c, (1, 0, 2)) for pair in currents for c in pair], table

    def run(self, images):
        """Run every image; yields one tuple per chunk, in order.

        Yields
        ------
        start : int
            Index of the chunk's first image.
        output : ndarray
            ``(m, T, 2 n_L)``: the input current of the ``value L`` pairs, as
            NengoDL's probe of their ``"input"`` reads it.
        states : list or None
            With ``record_states``, ``(value, error)`` currents ``(m, T, 2 n_l)``
            for l = 1..L.
        counts : ndarray
            ``(T, 2 * len(labels))``: spikes and synops of every population per step,
            summed over the chunk's images.
        """
        images = np.asarray(images, np.float32)
        bias_column = 2 * self.labels.index(self.net.bias.label)
        fan = float(self.fan_out[self.net.bias.label].numpy()[0, 1])
        for start in range(0, len(images), self.chunk):
            batch = images[start:start + self.chunk]
            currents, table = self._run(batch)
            table = table.numpy().astype(np.float64)
            table[:, bias_column] = self.bias_counts * len(batch)
            table[:, bias_column + 1] = self.bias_counts * fan * len(batch)
            currents = [np.concatenate([c, -c], axis=-1)
                        for c in (c.numpy() for c in currents)]
            states = list(zip(currents[::2], currents[1::2]))
            yield start, states[-1][0], states if self.record_states else None, table
