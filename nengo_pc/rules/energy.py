"""Energy-based networks: a free phase, a nudged or clamped phase, their contrast.

On the layered Hopfield-type network of `nengo_pc.pc.baselines.free_phase` (the
layer sizes of the MLP, a bounded nonlinearity): ``eqprop`` (equilibrium
propagation, Scellier & Bengio 2017; symmetric nudging, Laborieux et al. 2021) and
``chl`` (contrastive Hebbian learning, Movellan 1991). A network they train
classifies by its free phase.
"""

from nengo_pc.rules import options as shared
from nengo_pc.rules.registry import Option, Rule, register

#: The bounded, increasing nonlinearities the energy exists for
#: (`nengo_pc.pc.baselines.ENERGY_ACTIVATIONS`, repeated here without TensorFlow).
ENERGY_ACTIVATIONS = ("sigmoid", "tanh")


def make_eqprop(arch, options, seed):
    """Update of equilibrium propagation (`nengo_pc.pc.baselines.eqprop_updates`)."""
    from nengo_pc.pc import baselines

    def update(params, batch):
        return baselines.eqprop_updates(
            params.weights, params.biases, batch.x, batch.y, arch.activation,
            options["n_steps"], options["nudged_steps"], options["beta"],
            options["symmetric_nudging"])

    return update


def make_chl(arch, options, seed):
    """Update of contrastive Hebbian learning (`nengo_pc.pc.baselines.chl_updates`)."""
    from nengo_pc.pc import baselines

    def update(params, batch):
        return baselines.chl_updates(params.weights, params.biases, batch.x, batch.y,
                                     arch.activation, options["n_steps"],
                                     options["nudged_steps"])

    return update


def resolve_eqprop(arch, options):
    """Refuse ``beta >= 1`` with symmetric nudging (the -beta phase needs 1 - beta > 0)."""
    if options["symmetric_nudging"] and options["beta"] >= 1:
        raise ValueError(f"beta: symmetric nudging needs beta < 1, "
                         f"got {options['beta']!r}")
    return options


FREE_STEPS = shared.n_steps(20, "free-phase sweeps, also how the network classifies "
                                "(default 20)")

EQPROP = register(Rule(
    name="eqprop", family="energy",
    summary="equilibrium propagation: contrast of nudged and free (or -nudged) phases",
    factory="nengo_pc.rules.energy:make_eqprop",
    resolve="nengo_pc.rules.energy:resolve_eqprop",
    options=(FREE_STEPS,
             Option("nudged_steps", int, 8, low=1,
                    help="sweeps of each nudged phase (default 8)"),
             Option("beta", float, 0.2, low=0, low_open=True,
                    help="nudging strength (default 0.2; < 1 with symmetric nudging)"),
             Option("symmetric_nudging", bool, True,
                    help="nudge with +beta and -beta (default: on)")),
    prediction="free_phase", activations=ENERGY_ACTIVATIONS,
))
CHL = register(Rule(
    name="chl", family="energy",
    summary="contrastive Hebbian learning: clamped minus free phase correlations",
    factory="nengo_pc.rules.energy:make_chl",
    options=(FREE_STEPS,
             Option("nudged_steps", int, 8, low=1,
                    help="sweeps of the clamped phase (default 8)")),
    prediction="free_phase", activations=ENERGY_ACTIVATIONS,
))
