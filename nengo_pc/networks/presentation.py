"""How a spiking feedforward network is shown images.

`Presentation` is the presentation of one image to a spiking
`~nengo_pc.networks.FeedforwardNetwork` (steps, synapse, input coding, readout), as
spiking evaluation uses it; `demo_network` is a spiking network showing test images
one after another, the ``model`` of the soft-LIF scripts in ``networks/``.
"""

import dataclasses

import nengo
import numpy as np

from nengo_pc.arch import INPUT_CODINGS, PRESENTATION_READOUTS
from nengo_pc.networks.feedforward import FeedforwardNetwork, make_synapse


@dataclasses.dataclass(frozen=True)
class Presentation:
    """How a spiking network is shown each image.

    Parameters
    ----------
    n_steps : int
        Time steps per image; the presentation time is ``n_steps * dt``.
    dt : float
        Simulator time step in seconds.
    synapse : str
        Synapse on every weight connection, one of `nengo_pc.arch.SYNAPSES`.
    tau : float
        Synapse time constant in seconds.
    input_coding : str
        One of `nengo_pc.arch.INPUT_CODINGS`.
    readout : str
        One of `nengo_pc.arch.PRESENTATION_READOUTS`: ``"mean"``, classify by the
        output averaged over the presentation (the spike-count readout);
        ``"last"``, by the output at the last step; ``"lowpass"``, by the output
        filtered by a `nengo.Lowpass` of ``readout_tau`` as a `nengo.Probe` with
        that synapse reads it at the last step (from 0; the filter takes in a
        step's output after the probe has read it, so the last step's is not in
        it), which is how NengoDL's spiking-MNIST example reads its network.
    readout_tau : float
        Time constant in seconds of the ``"lowpass"`` readout (only for it; 0.1,
        the example's, if not given).
    """

    n_steps: int = 100
    dt: float = 0.001
    synapse: str = "alpha"
    tau: float = 0.005
    input_coding: str = "constant"
    readout: str = "mean"
    readout_tau: float = None

    def __post_init__(self):
        if isinstance(self.n_steps, bool) or not isinstance(self.n_steps, (int, np.integer)) \
                or self.n_steps < 1:
            raise ValueError(f"n_steps: must be an integer >= 1, got {self.n_steps!r}")
        if not (isinstance(self.dt, (int, float)) and 0 < self.dt <= 0.01):
            raise ValueError(f"dt: must be in (0, 0.01] seconds, got {self.dt!r}")
        make_synapse(self.synapse, self.tau)
        if self.input_coding not in INPUT_CODINGS:
            raise ValueError(
                f"input_coding: {self.input_coding!r} is not one of "
                f"{', '.join(INPUT_CODINGS)}"
            )
        if self.readout not in PRESENTATION_READOUTS:
            raise ValueError(f"readout: {self.readout!r} is not one of "
                             f"{', '.join(PRESENTATION_READOUTS)}")
        if self.readout_tau is not None and self.readout != "lowpass":
            raise ValueError(f"readout_tau: applies to the lowpass readout only, not "
                             f"readout={self.readout!r}")
        if self.readout == "lowpass":
            tau = 0.1 if self.readout_tau is None else self.readout_tau
            if isinstance(tau, bool) or not isinstance(tau, (int, float)) or tau <= 0:
                raise ValueError(f"readout_tau: must be a time constant > 0 seconds, "
                                 f"got {tau!r}")
            object.__setattr__(self, "readout_tau", float(tau))

    @property
    def seconds(self):
        """Presentation time per image."""
        return self.n_steps * self.dt

    def network_options(self):
        """Keyword arguments of `FeedforwardNetwork` for this presentation."""
        return {"synapse": make_synapse(self.synapse, self.tau),
                "input_coding": self.input_coding, "spiking": True}

    def readout_filter(self):
        """``(a, b)`` of the lowpass readout's step ``y = a y + b x`` (Nengo's
        zero-order hold of ``1 / (readout_tau s + 1)``)."""
        a = float(np.exp(-self.dt / self.readout_tau))
        return a, 1.0 - a

    def read(self, outputs):
        """Logits from outputs of shape ``(n_images, n_steps, n_out)``."""
        if self.readout == "lowpass":
            a, b = self.readout_filter()
            y = np.zeros_like(outputs[:, 0])
            for t in range(outputs.shape[1] - 1):  # one step behind (docstring)
                y = a * y + b * outputs[:, t]
            return y
        return outputs.mean(axis=1) if self.readout == "mean" else outputs[:, -1]

    def to_dict(self):
        """JSON-serialisable form."""
        return dataclasses.asdict(self)




def demo_network(arch, params=None, images=None, labels=None, presentation_time=0.1,
                 synapse=nengo.Alpha(0.005), label=None, seed=0):
    """A spiking `FeedforwardNetwork` that shows images one after another.

    What the scripts in ``networks/`` expose as ``model`` for nengo-gui and
    ``nengo.Simulator``.

    Parameters
    ----------
    arch : Architecture
        A ``"lif"`` network (other nonlinearities run as rate neurons).
    params : Params, optional
        Trained parameters; default ``init_params(arch, seed)``.
    images : ndarray, optional
        Flattened images ``(n, sizes[0])`` shown for ``presentation_time`` each, in a
        loop (`nengo.processes.PresentInput`); default one blank image.
    labels : ndarray, optional
        Their integer labels ``(n,)`` or one-hot labels ``(n, sizes[-1])``, shown as
        a one-hot node ``target``.
    presentation_time : float
        Seconds per image.
    synapse : nengo.synapses.Synapse
        Synapse of every weight connection.
    label : str, optional
        Name of the model.
    seed : int
        Seed of the network.

    Returns
    -------
    nengo.Network
        With attributes ``net`` (the `FeedforwardNetwork`), ``images`` (its input
        node, presenting the images), ``target`` (one-hot label node, if ``labels``
        are given),
        ``p_output`` (probe on the output, filtered by ``synapse``) and ``p_spikes``
        (probe on the spikes of the last hidden layer).
    """
    if images is None:
        images = np.zeros((1, arch.sizes[0]))
    images = np.asarray(images, dtype=float).reshape(len(images), -1)
    if images.shape[1] != arch.sizes[0]:
        raise ValueError(f"images: expected width {arch.sizes[0]}, got {images.shape[1]}")
    if not (isinstance(presentation_time, (int, float)) and presentation_time > 0):
        raise ValueError(
            f"presentation_time: must be > 0 seconds, got {presentation_time!r}")
    model = nengo.Network(label=label, seed=seed)
    with model:
        model.net = FeedforwardNetwork(arch, params, synapse=synapse, spiking=True,
                                       label=label, seed=seed)
        model.images = model.net.input
        model.images.output = nengo.processes.PresentInput(images, presentation_time)
        if labels is not None:
            labels = np.asarray(labels)
            one_hot = labels if labels.ndim == 2 else np.eye(arch.sizes[-1])[labels]
            model.target = nengo.Node(nengo.processes.PresentInput(one_hot,
                                                                  presentation_time),
                                      label="label")
        model.p_output = nengo.Probe(model.net.output, synapse=synapse)
        hidden = model.net.layers[-1]
        if isinstance(hidden, nengo.Ensemble):
            model.p_spikes = nengo.Probe(hidden.neurons)
    return model
