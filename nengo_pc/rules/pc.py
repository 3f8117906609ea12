"""The predictive-coding family: inference, then a local update (`nengo_pc.pc.core`).

Four variants on the same energy, differing in how inference runs and when the
weights change: ``pc-standard`` (inference learning, Whittington & Bogacz 2017),
``pc-fixed-prediction`` and ``pc-zil`` (exact backprop of the squared error at step
size 1; Millidge et al. 2020, Song et al. 2020) and ``pc-incremental`` (weights
change at every inference step, Salvatori et al. 2024).
"""

from nengo_pc.rules import options as shared
from nengo_pc.rules.registry import Rule, register


def _factory(variant):
    def make(arch, options, seed):
        from nengo_pc.pc import core

        def update(params, batch):
            return core.pc_updates(
                params.weights, params.biases, batch.x, batch.y, variant,
                arch.activation, options["n_steps"], options["step_size"],
                options["output_precision"],
                batch.learning_rate if variant == "incremental" else None)

        return update

    make.__name__ = f"make_{variant}"
    make.__doc__ = f"Update of the {variant!r} variant (`nengo_pc.pc.core.pc_updates`)."
    return make


make_standard = _factory("standard")
make_fixed_prediction = _factory("fixed_prediction")
make_zil = _factory("zil")
make_incremental = _factory("incremental")


def _resolver(variant):
    def resolve(arch, options):
        from nengo_pc.pc.options import resolve_options
        from nengo_pc.rules.backprop import check_pc_activation

        check_pc_activation(arch, options)
        resolved = resolve_options(variant, arch.n_layers, options["n_steps"],
                                   options["step_size"],
                                   output_precision=options["output_precision"])
        return {k: resolved[k] for k in ("n_steps", "step_size", "output_precision")}

    resolve.__name__ = f"resolve_{variant}"
    resolve.__doc__ = f"Defaults and checks of the {variant!r} variant."
    return resolve


resolve_standard = _resolver("standard")
resolve_fixed_prediction = _resolver("fixed_prediction")
resolve_zil = _resolver("zil")
resolve_incremental = _resolver("incremental")


def _register(name, variant, summary, steps_default, steps_help, size_default):
    return register(Rule(
        name=name, family="pc", summary=summary,
        factory=f"nengo_pc.rules.pc:make_{variant}",
        resolve=f"nengo_pc.rules.pc:resolve_{variant}",
        options=(shared.n_steps(None, steps_help),
                 shared.step_size(None, f"inference step size (default "
                                        f"{size_default})"),
                 shared.OUTPUT_PRECISION),
        learns_during_inference=variant == "incremental",
    ))


STANDARD = _register(
    "pc-standard", "standard",
    "inference learning: relax the values, then one local update",
    20, "inference steps (default 20)", 0.1)
FIXED_PREDICTION = _register(
    "pc-fixed-prediction", "fixed_prediction",
    "fixed-prediction PC: predictions held at the feedforward pass (exact backprop)",
    None, "inference steps (default: the number of layers)", 1.0)
ZIL = _register(
    "pc-zil", "zil",
    "zero-divergence inference learning: layer l updates at step l (exact backprop)",
    None, "inference steps, >= the number of layers (default: that number)", 1.0)
INCREMENTAL = _register(
    "pc-incremental", "incremental",
    "incremental PC: the weights change at every inference step",
    20, "inference steps (default 20)", 0.1)
