"""A spiking LIF multilayer perceptron classifying MNIST digits.

Open it in nengo-gui (``nengo networks/mnist_softlif_mlp.py``) or build ``model`` in
any Nengo simulator. The architecture is `nengo_pc.arch.softlif_mlp` (784-500-500-10;
LIF neurons, amplitude 0.01; Hunsberger & Eliasmith's soft-LIF network) with alpha
synapses (tau 5 ms); test images are shown for 0.1 s each (`model.image` shows them,
``model.p_output`` probes the output, ``model.p_spikes`` the last hidden layer).

The parameters come from ``$NENGO_PC_PARAMS``, else ``runs/mnist-softlif-mlp/params.npz``
(your own ``nengo-pc train`` run: soft-LIF training in NengoDL), else the trained
ones shipped with the package (`nengo_pc.pretrained`). Images come from
``$NENGO_PC_DATA`` (blank images, with a note, without it).

With nengo-loihi (the ``loihi`` extra), ``nengo --backend nengo_loihi
networks/mnist_softlif_mlp.py`` runs the form of this network that Loihi runs
(`nengo_pc.loihi.demo_model`: Lowpass synapses instead of alpha, an off-chip input
layer spiking the pixels, each layer split into blocks that fit a core; see
docs/loihi.md) on nengo-loihi's emulator; ``NENGO_PC_BACKEND=nengo_loihi`` builds
that form outside nengo-gui.
"""

import nengo

from nengo_pc.arch import softlif_mlp
from nengo_pc.networks.presentation import demo_network
from nengo_pc.script_inputs import (ImageDisplay, presented_images, run_dir,
                                    script_backend, trained_params)

NAME = "mnist-softlif-mlp"
PRESENTATION_TIME = 0.1

arch, params = trained_params(NAME, lambda: softlif_mlp((500, 500)),
                              [run_dir(NAME, globals().get("__file__")) / "params.npz"])
images, labels = presented_images(NAME, arch, n_images=100)

if script_backend(globals()) == "nengo_loihi":
    # the form Loihi runs: Lowpass synapses, an off-chip input layer, a core per block
    from nengo_pc.loihi import demo_model

    model = demo_model(arch, params, images, labels, PRESENTATION_TIME, tau=0.005,
                       label=NAME)
else:
    model = demo_network(arch, params, images, labels, PRESENTATION_TIME,
                         synapse=nengo.Alpha(0.005), label=NAME)
with model:
    if arch.sizes[0] == 784:
        model.image = nengo.Node(ImageDisplay(), size_in=784, label="image")
        nengo.Connection(model.images, model.image, synapse=None)
