"""TensorFlow's start-up notes are filtered from the CLI's stderr, real errors kept."""

import os
import subprocess
import sys

from nengo_pc.tf_startup import NOISE, without_noise

# what TensorFlow 2.19 printed at start-up on this CPU-only machine (2026-12-06)
STARTUP = """\
2026-12-06 05:11:48.211796: E external/local_xla/xla/stream_executor/cuda/cuda_fft.cc:467] Unable to register cuFFT factory: Attempting to register factory for plugin cuFFT when one has already been registered
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
E0000 00:00:1796533908.309194    8506 cuda_dnn.cc:8579] Unable to register cuDNN factory: Attempting to register factory for plugin cuDNN when one has already been registered
E0000 00:00:1796533908.321751    8506 cuda_blas.cc:1407] Unable to register cuBLAS factory: Attempting to register factory for plugin cuBLAS when one has already been registered
W0000 00:00:1796533908.602340    8506 computation_placer.cc:177] computation placer already registered. Please check linkage and avoid linking the same target more than once.
2026-12-06 05:15:20.497986: E external/local_xla/xla/stream_executor/cuda/cuda_platform.cc:51] failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)
"""


def test_the_startup_notes_are_noise_and_other_lines_are_kept():
    assert without_noise(STARTUP) == ""
    real = "2026-12-06 05:15:21.0: E tensorflow/core/framework/op_kernel.cc:1] OOM"
    assert without_noise(STARTUP + real + "\n") == real
    assert not NOISE.search("Traceback (most recent call last):")


def test_importing_tensorflow_and_nengo_dl_quietly_prints_no_startup_notes():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    code = ("import sys, nengo_pc\n"
            "from nengo_pc.tf_startup import import_tensorflow_quietly\n"
            "tf = import_tensorflow_quietly()\n"
            "import nengo_dl\n"
            "print('after', file=sys.stderr)\n"
            "print(tf.reduce_sum(tf.constant([1.0, 2.0])).numpy())\n")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=600, check=True)
    assert done.stdout.strip() == "3.0"
    assert done.stderr.strip() == "after", done.stderr
