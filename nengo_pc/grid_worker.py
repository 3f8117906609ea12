"""What runs inside a Dask worker of the comparison grid (`nengo_pc.grid`).

Two things: `TensorFlowThreads`, a worker plugin that gives each worker process one
TensorFlow thread pool sized to its share of the cores
(`nengo_pc.comparison.configure_tensorflow`), and `run_in_worker`, the
function every task calls, which runs `nengo_pc.comparison.run_task` one task at a
time per process. Imports ``distributed`` (the ``grid`` extra); imported only by the
grid, never by ``import nengo_pc``.
"""

import threading

from distributed import WorkerPlugin
from distributed.comm import get_address_host

from nengo_pc.comparison import configure_tensorflow, run_task, usable_cores

#: Tasks of one worker process run one after another: TensorFlow's global seed
#: (`nengo_pc.training.train` sets it) and its thread pool are per process, so two
#: tasks training at once in one process would share both and lose determinism.
#: A worker started with ``--nthreads 1`` (as `nengo_pc.grid` starts them) never
#: waits here.
_ONE_AT_A_TIME = threading.Lock()


class TensorFlowThreads(WorkerPlugin):
    """Worker plugin: size each worker's TensorFlow thread pools to its cores.

    Parameters
    ----------
    threads : int, optional
        Threads per worker process. Default: the usable cores of the worker's host
        divided by the number of worker processes on that host (``per_host``).
    per_host : dict, optional
        ``{host: worker processes}`` when the plugin was registered; a worker on a
        host not listed takes all its host's cores.
    """

    name = "nengo-pc-tensorflow-threads"

    def __init__(self, threads=None, per_host=None):
        self.threads = threads
        self.per_host = dict(per_host or {})

    def setup(self, worker):
        threads = self.threads
        if threads is None:
            host = get_address_host(worker.address)
            threads = max(1, usable_cores() // self.per_host.get(host, 1))
        configure_tensorflow(threads)


def run_in_worker(task, settings):
    """`nengo_pc.comparison.run_task` as a Dask task (one at a time per process)."""
    with _ONE_AT_A_TIME:
        return run_task(task, settings, runner="dask")
