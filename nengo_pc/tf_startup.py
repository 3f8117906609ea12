"""Import TensorFlow without its start-up notes about absent GPUs.

On a machine without CUDA, TensorFlow 2.19 prints a dozen lines from C++ while it
loads and first looks for devices ("Unable to register cuDNN factory", "computation
placer already registered", "failed call to cuInit", "All log messages before
absl::InitializeLog() ..."). They mean nothing to a user of ``nengo-pc``, and
``TF_CPP_MIN_LOG_LEVEL`` does not reach them: several are written through absl
before TensorFlow's own logging is set up, and importing NengoDL prints them all
a second time (it loads more of TensorFlow's libraries). `import_tensorflow_quietly`
therefore points file descriptor 2 at a temporary file while TensorFlow and NengoDL
load and TensorFlow looks for GPUs, then writes back every line that is not one of
those notes (`NOISE`), so a real error still shows.
"""

import os
import re
import sys
import tempfile

#: Lines TensorFlow prints at start-up on a machine without CUDA.
NOISE = re.compile(
    r"Unable to register cu(DNN|FFT|BLAS) factory"
    r"|All log messages before absl::InitializeLog\(\) is called"
    r"|computation placer already registered"
    r"|failed call to cuInit"
    r"|Could not find cuda drivers"
    r"|TF-TRT Warning"
    r"|oneDNN custom operations are on"
    r"|This TensorFlow binary is optimized to use available CPU instructions"
    r"|To enable the following instructions"
)


def import_tensorflow_quietly():
    """Import TensorFlow and NengoDL (and list the GPUs) with `NOISE` filtered from
    stderr.

    Returns the ``tensorflow`` module. If it is already imported, it is returned as
    it is. Call it after ``import nengo_pc`` (which selects Keras 2 for NengoDL).
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    try:
        saved = os.dup(2)
    except OSError:  # no file descriptor 2 (e.g. an embedded interpreter)
        import tensorflow as tf  # noqa: PLC0415

        return tf
    with tempfile.TemporaryFile() as captured:
        sys.stderr.flush()
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf  # noqa: PLC0415

            # the device search is where cuInit fails: do it now, under the filter
            tf.config.list_physical_devices("GPU")
            import nengo_dl  # noqa: F401, PLC0415
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = without_noise(captured.read().decode(errors="replace"))
            if kept:
                print(kept, file=sys.stderr, flush=True)
    return tf


def without_noise(text):
    """``text`` without its blank lines and the lines matching `NOISE`."""
    return "\n".join(line for line in text.splitlines()
                     if line.strip() and not NOISE.search(line))
