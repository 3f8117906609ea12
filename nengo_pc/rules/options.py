"""Options several families share (declared once, used by their `Rule` entries)."""

from nengo_pc.rules.registry import Option


def n_steps(default, help_text):
    """Number of inference (or free-phase) steps, an integer >= 1."""
    return Option("n_steps", int, default, low=1, help=help_text)


def step_size(default, help_text="inference step size"):
    """Inference step size, a number > 0."""
    return Option("step_size", float, default, low=0, low_open=True, help=help_text)


OUTPUT_PRECISION = Option(
    "output_precision", float, 1.0, low=0, low_open=True,
    help="weight (precision gamma) of the output error; small = weak feedback, "
         "closer to backprop")
