"""Feedback alignment: the error travels through fixed random matrices.

``fa`` (Lillicrap et al. 2016) carries the error down layer by layer through fixed
random B_l instead of W_l^T; ``dfa`` (Nokland 2016) sends the output error straight
to every hidden layer through its own D_l (`nengo_pc.pc.baselines`). The matrices are
drawn once per run from the generator ``[seed, 2]``, a stream of their own.
"""

from nengo_pc.rules.registry import Rule, register


def _factory(rule):
    def make(arch, options, seed):
        import numpy as np
        import tensorflow as tf

        from nengo_pc.pc import baselines

        updates = (baselines.feedback_alignment_updates if rule == "fa"
                   else baselines.direct_feedback_alignment_updates)
        # drawn in float64 and rounded to the parameters' type when used (the
        # same values as drawing in that type)
        feedback = [tf.constant(m) for m in baselines.random_feedback(
            arch.sizes, rule, [seed, 2], dtype=np.float64)]

        def update(params, batch):
            dtype = params.weights[0].dtype
            return updates(params.weights, params.biases, batch.x, batch.y,
                           arch.activation, [tf.cast(m, dtype) for m in feedback])

        return update

    make.__name__ = f"make_{rule}"
    make.__doc__ = f"Update of {rule!r} with its fixed random feedback matrices."
    return make


make_fa = _factory("fa")
make_dfa = _factory("dfa")
_RESOLVE = "nengo_pc.rules.backprop:check_pc_activation"

FA = register(Rule(
    name="fa", family="alignment",
    summary="feedback alignment: backprop through fixed random feedback matrices",
    factory="nengo_pc.rules.alignment:make_fa", resolve=_RESOLVE,
    config_defaults={"optimizer": "momentum"},
))
DFA = register(Rule(
    name="dfa", family="alignment",
    summary="direct feedback alignment: the output error sent to every layer directly",
    factory="nengo_pc.rules.alignment:make_dfa", resolve=_RESOLVE,
    config_defaults={"optimizer": "momentum"},
))
