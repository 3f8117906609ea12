"""A spiking predictive-coding network of Nengo ensembles classifying MNIST digits.

Open it in nengo-gui (``nengo networks/mnist_pc_spiking.py``; the layout in
``mnist_pc_spiking.py.cfg`` shows spike rasters of the value and error ensembles, the
input image and the output values) or build ``model`` in any Nengo simulator.
``model.pc`` is a `nengo_pc.networks.PredictiveCodingNetwork` with ``spiking=True``
(784-500-500-10, LIF activities, integrate-and-fire pairs for the signed values and
errors, lowpass synapses); its ensembles are also ``model.value_1``,
``model.error_1``, ``model.activity_1`` and so on. Test images are shown for 0.15 s
each with the output free (mode ``"sweep"``: every value integrates its prediction
error, top-down feedback off; see `nengo_pc.networks.spiking`).

The pairs spike at the spiking PC benchmark's amplitude
(`nengo_pc.arch.BENCHMARK_PAIR_AMPLITUDE`), so nengo-gui has fewer spikes to simulate.
The parameters come from ``$NENGO_PC_PARAMS``, else ``runs/mnist-pc-spiking/params.npz``
(your own ``nengo-pc train`` run), else the trained ones shipped with the package
(`nengo_pc.pretrained`). Images come from ``$NENGO_PC_DATA`` (blank images, with a
note, without it).

With nengo-loihi (the ``loihi`` extra), ``nengo --backend nengo_loihi
networks/mnist_pc_spiking.py`` runs the form of this network that Loihi runs,
`nengo_pc.loihi.pc.LoihiPCNetwork` (`nengo_pc.loihi.pc_running.pc_demo_model`: the
same inference without the gates that mode ``"sweep"`` leaves silent, dense
weights, pairs at Loihi's rates, every population split into chunks of a core;
``value_l``, ``error_l``, ``activity_l`` show each population's first chunk; see
docs/loihi.md) on nengo-loihi's emulator; ``NENGO_PC_BACKEND=nengo_loihi`` builds
that form outside nengo-gui.
"""

import nengo

from nengo_pc.arch import BENCHMARK_PAIR_AMPLITUDE, mlp
from nengo_pc.networks.pc import PredictiveCodingNetwork
from nengo_pc.script_inputs import (ImageDisplay, presented_images, run_dir,
                                    script_backend, trained_params)

NAME = "mnist-pc-spiking"
PRESENTATION_TIME = 0.15

runs = run_dir(NAME, globals().get("__file__"))
arch, params = trained_params(NAME, lambda: mlp((500, 500), activation="lif"),
                              [runs / "params.npz"])
images, labels = presented_images(NAME, arch, n_images=20)

if script_backend(globals()) == "nengo_loihi":
    from nengo_pc.loihi.pc_running import pc_demo_model

    # the pair amplitudes come from the values on (up to) 1,000 test images
    calibration, _ = presented_images(NAME, arch, n_images=1000)
    model = pc_demo_model(arch, params, images, labels, PRESENTATION_TIME,
                          calibration=calibration, label=NAME)
else:
    model = nengo.Network(label=NAME, seed=0)
    with model:
        model.images = nengo.Node(
            nengo.processes.PresentInput(images, PRESENTATION_TIME), label="images")
        model.labels = nengo.Node(
            nengo.processes.PresentInput(labels, PRESENTATION_TIME), label="label")
        model.pc = PredictiveCodingNetwork(
            arch, params, spiking=True, mode="sweep", seed=0,
            pair_neuron_type=nengo.SpikingRectifiedLinear(
                amplitude=BENCHMARK_PAIR_AMPLITUDE),
            label="spiking predictive coding")
        nengo.Connection(model.images, model.pc.input, synapse=None)
        nengo.Connection(model.labels, model.pc.target, synapse=None)
        for l in range(arch.n_layers + 1):
            setattr(model, f"value_{l}", model.pc.values[l])
            if model.pc.errors[l] is not None:
                setattr(model, f"error_{l}", model.pc.errors[l])
            if model.pc.activities[l] is not None:
                setattr(model, f"activity_{l}", model.pc.activities[l])
        # the decoded output spikes, filtered like the network's own probes
        model.output_values = nengo.Node(size_in=arch.sizes[-1], label="output values")
        nengo.Connection(model.pc.output, model.output_values, synapse=model.pc.tau)
with model:
    if arch.sizes[0] == 784:
        model.image = nengo.Node(ImageDisplay(), size_in=784, label="image")
        nengo.Connection(model.images, model.image, synapse=None)
    model.p_output = nengo.Probe(model.output_values, synapse=None, label="output")
    model.p_label = nengo.Probe(model.labels, synapse=None, label="label")
