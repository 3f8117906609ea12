"""A predictive-coding network of Nengo ensembles classifying MNIST digits.

Open it in nengo-gui (``nengo networks/mnist_pc.py``) or build ``model`` in any Nengo
simulator. ``model.pc`` is a `nengo_pc.networks.PredictiveCodingNetwork`
(784-256-256-10, ReLU, rate mode) whose value, error and activity ensembles, slope
gates and gate populations are all named. Each test image is shown for 0.2 s: the
network first sweeps forward (mode ``"sweep"``, 0.15 s), then runs full PC inference
with the output free (mode ``"free"``), so ``model.pc.output`` (probed by
``model.p_output``) settles to the image's logits. The one-hot label drives
``model.pc.target``; to watch the output clamped to it, drive ``model.pc.clamp``
with 1 (e.g. ``model.pc.mode = "clamped"`` in the GUI editor).

The parameters come from ``$NENGO_PC_PARAMS``, else ``runs/mnist-pc/params.npz``
(your own ``nengo-pc train`` run), else the trained ones shipped with the package
(`nengo_pc.pretrained`). Images come from ``$NENGO_PC_DATA`` (blank images, with a
note, without it).

Rate neurons cannot run on Loihi: with ``nengo --backend nengo_loihi`` this script
stops with a message pointing to ``networks/mnist_pc_spiking.py``.
"""

import nengo

from nengo_pc.arch import mlp
from nengo_pc.loihi import LoihiConfigError
from nengo_pc.networks.modes import ModeSchedule
from nengo_pc.networks.pc import PredictiveCodingNetwork
from nengo_pc.script_inputs import (ImageDisplay, presented_images, run_dir,
                                    script_backend, trained_params)

NAME = "mnist-pc"
PRESENTATION_TIME, SWEEP_TIME = 0.2, 0.15

if script_backend(globals()) == "nengo_loihi":
    raise LoihiConfigError(
        "networks/mnist_pc.py runs the PC network in rate mode (RectifiedLinear), "
        "which Loihi cannot simulate; open networks/mnist_pc_spiking.py with "
        "--backend nengo_loihi")

arch, params = trained_params(NAME, lambda: mlp((256, 256)),
                              [run_dir(NAME, globals().get("__file__")) / "params.npz"])
images, labels = presented_images(NAME, arch, n_images=100)

model = nengo.Network(label=NAME, seed=0)
with model:
    model.images = nengo.Node(nengo.processes.PresentInput(images, PRESENTATION_TIME),
                              label="images")
    model.labels = nengo.Node(nengo.processes.PresentInput(labels, PRESENTATION_TIME),
                              label="label")
    model.pc = PredictiveCodingNetwork(
        arch, params, label="predictive coding", seed=0,
        mode=ModeSchedule([("sweep", SWEEP_TIME), ("free", PRESENTATION_TIME)],
                          period=PRESENTATION_TIME))
    nengo.Connection(model.images, model.pc.input, synapse=None)
    nengo.Connection(model.labels, model.pc.target, synapse=None)
    if arch.sizes[0] == 784:
        model.image = nengo.Node(ImageDisplay(), size_in=784, label="image")
        nengo.Connection(model.images, model.image, synapse=None)
    model.p_output = nengo.Probe(model.pc.output, synapse=None, label="output")
    model.p_label = nengo.Probe(model.labels, synapse=None, label="label")
