"""The online local rule of the PC network: presynaptic activity times error.

What the Nengo PC network learns online (`nengo_pc.pc.online`): with the output
clamped to the target, the values relax to an equilibrium, and every connection
changes by the product of its presynaptic activity and its postsynaptic error, one
minibatch item at a time into shared weights. Computed here without simulating the
network, at the equilibrium `nengo_pc.pc.core.standard_updates` reaches from the
feedforward pass (``n_steps`` steps of ``step_size``); the simulated network is the
``simulated`` backend of `nengo_pc.training.backends`. It is trained as online
learning is: plain SGD, a per-example step, small minibatches (``config_defaults``).
"""

from nengo_pc.rules import options as shared
from nengo_pc.rules.registry import Rule, register


def make_online(arch, options, seed):
    """Update: the local rule at the relaxed, output-clamped equilibrium."""
    from nengo_pc.pc import core
    from nengo_pc.pc.activations import get_activation

    act = get_activation(arch.activation)

    def update(params, batch):
        return core.standard_updates(params.weights, params.biases, batch.x, batch.y,
                                     act, options["n_steps"], options["step_size"],
                                     options["output_precision"])

    return update


PC_ONLINE = register(Rule(
    name="pc-online", family="local",
    summary="the PC network's online local rule (pre activity x post error) at its "
            "clamped equilibrium",
    factory="nengo_pc.rules.local:make_online",
    resolve="nengo_pc.rules.backprop:check_pc_activation",
    options=(shared.n_steps(20, "inference steps to the equilibrium (default 20)"),
             shared.step_size(0.1, "inference step size (default 0.1)"),
             shared.OUTPUT_PRECISION),
    backends=("vectorised", "simulated"),
    # online learning's defaults: 20 images a minibatch, per-example step 0.006
    # (learning rate 0.2 x 30 ms learning window), constant
    config_defaults={"optimizer": "sgd", "batch_size": 20, "learning_rate": 0.12,
                     "lr_schedule": "constant"},
))
