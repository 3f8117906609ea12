"""Learning rules, each registered once under one name.

``nengo_pc.rules.names()`` lists them, ``nengo_pc.rules.get(name)`` returns the
`Rule` (its family, summary, options with defaults and ranges) and
``rule.build(arch, seed, **options)`` its update function ``update(params, batch) ->
[(dW, db), ...]`` (see `nengo_pc.rules.registry`). The families:

* `nengo_pc.rules.backprop`: ``backprop`` (softmax cross-entropy) and ``bp-mse``
  (backprop of the squared error, the reference of the rules below);
* `nengo_pc.rules.pc`: ``pc-standard``, ``pc-fixed-prediction``, ``pc-zil``,
  ``pc-incremental`` (predictive coding);
* `nengo_pc.rules.alignment`: ``fa``, ``dfa`` (feedback alignment);
* `nengo_pc.rules.energy`: ``eqprop``, ``chl`` (energy-based networks);
* `nengo_pc.rules.local`: ``pc-online`` (the PC network's local rule at its
  relaxed equilibrium, as online learning applies it).

Adding a rule is one module with one `register` call per rule. Importing this
package does not import TensorFlow; building an update function does.
"""

from nengo_pc.rules.registry import (
    FAMILIES,
    Batch,
    Option,
    Rule,
    canonical,
    get,
    names,
    register,
)

__all__ = ["FAMILIES", "Batch", "Option", "Rule", "canonical", "get", "names",
           "register"]
