"""Nengo processes that turn images into spike trains.

`.PoissonRateCode` rate-codes pixel intensities in [0, 1] as Poisson spike
trains: intensity ``x`` fires at ``x * max_rate`` Hz, with ``max_rate``
defaulting to ``1 / DEFAULT_TAU_REF``, the largest rate a LIF neuron with
that refractory period can reach.
"""

import numpy as np

from nengo.exceptions import ValidationError
from nengo.params import NdarrayParam, NumberParam
from nengo.processes import Process

from nengo_pc.neurons import DEFAULT_TAU_REF

__all__ = ["PoissonRateCode"]


def _check_intensities(x, name):
    """Raise a ValueError unless every element of ``x`` is in [0, 1].

    NaN fails both comparisons and +-inf fails one, so this single pass also
    rejects non-finite values; the slower diagnosis runs only on failure.
    """
    x = np.asarray(x)
    if np.all(x >= 0) and np.all(x <= 1):
        return
    bad = ~((x >= 0) & (x <= 1))
    if np.any(np.isnan(x)):
        what = f"{np.count_nonzero(np.isnan(x))} NaN value(s)"
    else:
        what = f"values in [{np.min(x)!r}, {np.max(x)!r}]"
    first = int(np.flatnonzero(bad)[0])
    raise ValueError(
        f"PoissonRateCode {name} must be finite intensities in the range [0, 1] "
        f"(e.g. pixel values scaled by 1/255); got {what}, first bad element "
        f"at index {first}: {x.ravel()[first]!r}"
    )


class PoissonRateCode(Process):
    """Poisson spike trains whose rates are proportional to intensities in [0, 1].

    Each dimension ``i`` with intensity ``x[i]`` in [0, 1] fires as a Poisson
    process with rate ``x[i] * max_rate``: every time step, its spike count is
    drawn from ``Poisson(x[i] * max_rate * dt)`` and the output is
    ``count / dt``. Using real Poisson counts (``rng.poisson``) rather than a
    Bernoulli draw with probability ``rate * dt`` keeps the statistics exact
    for any ``rate * dt``, including ``rate * dt`` near or above 1 where the
    Bernoulli approximation would saturate. Dividing by ``dt`` follows Nengo's
    spike convention (`nengo.LIF` emits ``1 / dt`` per spike), so a filtered
    output averages to the rate and the spikes can drive neurons like any
    other spike source.

    The intensities either come in through the node's input or are fixed:

    * ``nengo.Node(PoissonRateCode(size=n))``, or equivalently
      ``nengo.Node(PoissonRateCode(), size_in=n, size_out=n)``, reads ``x``
      from its input every step (connect an image node into it). The node's
      ``size_out`` must equal ``size_in``; Nengo takes ``size_out`` from the
      process' ``size``, so set ``size`` (or pass ``size_out``) explicitly.
    * ``nengo.Node(PoissonRateCode(values=image))`` has no input and codes
      the fixed ``values``.

    Intensities are validated: fixed ``values`` when the process is made, node
    inputs every step (a cheap vectorised range check). Anything outside
    [0, 1] or not finite raises ValueError. In ``nengo_dl.Simulator`` the
    process runs through NengoDL's generic process builder (a
    ``tf.numpy_function`` calling this step function once per minibatch
    item), and the ValueError reaches the caller as
    ``tf.errors.InvalidArgumentError`` carrying the same message.

    Parameters
    ----------
    values : (n,) array_like, optional
        Fixed intensities in [0, 1] (flattened). If given, the process takes
        no input.
    size : int, optional
        Number of dimensions when reading intensities from the input. Must
        equal ``values.size`` if both are given. Defaults to ``values.size``,
        else 1.
    max_rate : float, optional
        Rate in Hz for intensity 1. Defaults to ``1 / DEFAULT_TAU_REF``
        (500 Hz); for the thesis' ``tau_ref = 0.004`` pass ``max_rate=250``.
    **kwargs
        ``seed`` and ``default_dt``, passed to `nengo.Process`.

    Notes
    -----
    In ``nengo_dl.Simulator`` with ``minibatch_size > 1``, NengoDL builds one
    step function per minibatch item, each with ``process.get_rng(...)``; if
    ``seed`` is set they all get the *same* generator and every item receives
    identical spike trains. Leave ``seed=None`` and seed the simulator
    instead to get independent items.

    Examples
    --------
    Code a fixed image for 100 ms and estimate the rates:

    >>> import nengo
    >>> with nengo.Network(seed=0) as net:
    ...     spikes = nengo.Node(PoissonRateCode(values=[0.0, 0.5, 1.0]))
    ...     probe = nengo.Probe(spikes)
    >>> with nengo.Simulator(net, progress_bar=False) as sim:
    ...     sim.run(0.1)
    >>> rates = sim.data[probe].mean(axis=0)  # about [0, 250, 500] Hz
    """

    values = NdarrayParam("values", shape=("*",), optional=True)
    max_rate = NumberParam("max_rate", low=0, low_open=True)

    def __init__(self, values=None, size=None, max_rate=None, **kwargs):
        if values is not None:
            values = np.asarray(values, dtype=float).ravel()
            if values.size == 0:
                raise ValidationError("values must not be empty", attr="values", obj=self)
            _check_intensities(values, "values")
            if size is not None and size != values.size:
                raise ValidationError(
                    f"size ({size}) must equal the number of values ({values.size})",
                    attr="size",
                    obj=self,
                )
            kwargs.setdefault("default_size_in", 0)
            kwargs.setdefault("default_size_out", values.size)
        else:
            size = 1 if size is None else size
            kwargs.setdefault("default_size_in", size)
            kwargs.setdefault("default_size_out", size)
        super().__init__(**kwargs)
        self.values = values
        self.max_rate = 1.0 / DEFAULT_TAU_REF if max_rate is None else max_rate

    def make_step(self, shape_in, shape_out, dt, rng, state):
        """Make the step function, checking the node's sizes.

        Parameters
        ----------
        shape_in : tuple
            Shape of the input: ``(0,)`` with fixed ``values``, else ``(n,)``.
        shape_out : tuple
            Shape of the output; must be ``(n,)`` (the size of the intensities).
        dt : float
            Simulation time step, in seconds.
        rng : `numpy.random.RandomState`
            Random number generator for the spike counts.
        state : dict
            Unused; the process is memoryless.

        Returns
        -------
        step : callable
            ``step(t)`` with fixed values, else ``step(t, x)``, returning the
            spike output ``counts / dt`` of shape ``shape_out``.
        """
        n_in = shape_in[0] if len(shape_in) > 0 else 0
        n_out = shape_out[0] if len(shape_out) > 0 else 0
        if len(shape_in) != 1 or len(shape_out) != 1:
            raise ValidationError(
                f"the process works on vectors; got input shape {shape_in} "
                f"and output shape {shape_out}",
                attr="shape_in",
                obj=self,
            )
        # Expected spike count per step for intensity 1.
        count_scale = self.max_rate * dt
        inv_dt = 1.0 / dt

        if self.values is not None:
            if n_in != 0:
                raise ValidationError(
                    f"with fixed values the process takes no input, but the node "
                    f"has size_in={n_in}; drop `values` to read intensities from "
                    "the input instead",
                    attr="values",
                    obj=self,
                )
            if n_out != self.values.size:
                raise ValidationError(
                    f"node size_out ({n_out}) must equal the number of values "
                    f"({self.values.size})",
                    attr="values",
                    obj=self,
                )
            expected = self.values * count_scale

            def step_poissonratecode(t):
                return rng.poisson(expected) * inv_dt

            return step_poissonratecode

        if n_in == 0:
            raise ValidationError(
                "the process needs intensities: give the node an input "
                "(size_in > 0) or pass fixed `values`",
                attr="values",
                obj=self,
            )
        if n_out != n_in:
            raise ValidationError(
                f"node size_out ({n_out}) must equal size_in ({n_in}); use "
                f"PoissonRateCode(size={n_in}) or pass size_out={n_in} to the Node",
                attr="default_size_out",
                obj=self,
            )

        def step_poissonratecode(t, x):
            _check_intensities(x, "input x")
            return rng.poisson(x * count_scale) * inv_dt

        return step_poissonratecode
