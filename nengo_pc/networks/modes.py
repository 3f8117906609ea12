"""Run modes of the predictive-coding network, and schedules of them over time.

A `~nengo_pc.networks.PredictiveCodingNetwork` has three mode inputs, ``clamp``,
``learn`` and ``sweep`` (0 or 1); `MODES` names their useful combinations. A mode is
given as a name, or as a function of simulation time returning one, such as a
`ModeSchedule` (e.g. a feedforward sweep, then free inference, for every image of a
`nengo.processes.PresentInput`). `ModeDriver` is the output function of the node
that drives the three inputs from a mode.
"""

import math

#: Run modes of the network and the values of its `clamp`, `learn` and `sweep`
#: inputs that make them (see `PredictiveCodingNetwork`).
MODES = {
    "free": (0.0, 0.0, 0.0),
    "sweep": (0.0, 0.0, 1.0),
    "clamped": (1.0, 0.0, 0.0),
    "learning": (1.0, 1.0, 0.0),
}


def check_mode(mode):
    """``mode`` if it is one of `MODES`, else a ValueError naming ``mode``."""
    if not (isinstance(mode, str) and mode in MODES):
        raise ValueError(f"mode: {mode!r} is not one of {', '.join(MODES)}")
    return mode


class ModeSchedule:
    """The run mode as a function of time: phases that repeat every ``period``.

    Step k (k = 1, 2, ...) runs at t = k dt. ``phases`` lists ``(mode, seconds)``;
    step k of a presentation is in the first phase whose cumulative end (rounded to
    whole steps) it has not passed, and the last phase lasts to the end of the
    presentation. With ``period`` the schedule restarts every ``period`` seconds, in
    step with `nengo.processes.PresentInput` of the same presentation time.

    Parameters
    ----------
    phases : sequence of (str, float)
        Modes (one of `MODES`) and durations in seconds (>= 0).
    dt : float
        Simulator time step in seconds.
    period : float, optional
        Presentation time in seconds.

    Examples
    --------
    ``ModeSchedule([("sweep", 0.15), ("free", 0.05)], period=0.2)`` sweeps for 150
    ms and then runs free PC inference, for every image of a
    ``PresentInput(images, 0.2)``.
    """

    def __init__(self, phases, dt=0.001, period=None):
        if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
            raise ValueError(f"dt: must be a finite number > 0, got {dt!r}")
        phases = list(phases)
        if not phases:
            raise ValueError("phases: at least one (mode, seconds) pair is needed")
        self.modes, self.ends, end = [], [], 0
        for mode, seconds in phases:
            check_mode(mode)
            if not (isinstance(seconds, (int, float)) and math.isfinite(seconds)
                    and seconds >= 0):
                raise ValueError(f"phases: {mode!r} lasts {seconds!r}, must be >= 0 s")
            end += int(round(seconds / dt))
            self.modes.append(mode)
            self.ends.append(end)
        self.dt = float(dt)
        self.period_steps = None
        if period is not None:
            if not (isinstance(period, (int, float)) and period >= dt):
                raise ValueError(f"period: must be at least dt, got {period!r}")
            self.period_steps = max(1, int(round(period / dt)))

    def __call__(self, t):
        step = int(round(t / self.dt))
        if self.period_steps is not None:
            step = (step - 1) % self.period_steps + 1
        for mode, end in zip(self.modes, self.ends):
            if step <= end:
                return mode
        return self.modes[-1]


class ModeDriver:
    """Output function of the mode node: ``(clamp, learn, sweep)`` of the mode.

    Parameters
    ----------
    mode : str or callable
        A name of `MODES`, or a function of simulation time returning one; the
        ``mode`` attribute may be changed between or during runs.
    """

    def __init__(self, mode):
        self.mode = mode

    def __call__(self, t):
        mode = self.mode(t) if callable(self.mode) else self.mode
        return MODES[check_mode(mode)]
