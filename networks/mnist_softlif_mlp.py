"""A spiking LIF multilayer perceptron classifying MNIST digits.

Open it in nengo-gui with ``nengo networks/mnist_softlif_mlp.py``, or build
``model`` in any Nengo simulator. The architecture is `nengo_pc.arch.softlif_mlp`
(784-500-500-10; LIF neurons, amplitude 0.01; Hunsberger & Eliasmith's soft-LIF
network) with alpha synapses (tau 5 ms); test images are shown for 0.1 s each.

``model`` uses the trained parameters in ``runs/mnist-softlif-mlp/params.npz`` (or the
file named by ``$NENGO_PC_PARAMS``) when it exists, else untrained ones (with a note).
Train them with::

    python networks/mnist_softlif_mlp.py --epochs 10

which trains with NengoDL (soft-LIF), saves the parameters, evaluates rate and spiking
test accuracy and writes a JSON record next to them. Images come from
``$NENGO_PC_DATA`` (blank images, with a note, if it is not available).
"""

from pathlib import Path

from nengo_pc.arch import softlif_mlp
from nengo_pc.softlif_scripts import build_model, softlif_main

NAME = "mnist-softlif-mlp"
# nengo-gui runs the file with __file__ set; fall back to the working directory
_HERE = Path(globals().get("__file__", "networks/x.py")).resolve().parent
#: Where ``main`` writes and ``model`` reads the trained parameters.
RUN_DIR = _HERE.parent / "runs" / NAME


def default_arch():
    """The architecture when no trained parameters exist."""
    return softlif_mlp((500, 500))


def main(argv=None):
    """Train with NengoDL, save the parameters, evaluate rate and spiking accuracy."""
    return softlif_main(argv, name=NAME, description=__doc__.split("\n\n")[0],
                        preset=softlif_mlp, run_dir=RUN_DIR, default_hidden=(500, 500),
                        default_gain=1.0)


if __name__ == "__main__":
    main()
else:
    model = build_model(NAME, default_arch, RUN_DIR)
