"""Installation of nengo-pc.

The stack is pinned exactly; docs/stack.md records the measurements behind each pin
and the command that repeats them (benchmarks/stack_check.py).
"""

import re
from pathlib import Path

from setuptools import find_packages, setup

root = Path(__file__).parent
version = re.search(
    r'__version__ = "([^"]+)"', (root / "nengo_pc" / "__init__.py").read_text()
).group(1)

setup(
    name="nengo-pc",
    version=version,
    description=(
        "Predictive coding, spiking LIF networks and backprop baselines as Nengo "
        "networks trained with NengoDL"
    ),
    long_description=(root / "README.md").read_text(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.11,<3.12",
    packages=find_packages(include=["nengo_pc", "nengo_pc.*"]),
    # trained parameters of the networks/ scripts (nengo_pc.pretrained)
    package_data={"nengo_pc.pretrained": ["*.npz"]},
    install_requires=[
        # TensorFlow 2.16+ ships Keras 3; NengoDL 3.6.0 (its last release) needs Keras 2,
        # which tf-keras of the same minor version provides (nengo_pc/compat.py).
        # 2.19 is the newest on which NengoDL's own tests and this suite all pass.
        "tensorflow==2.19.1",
        "tf-keras==2.19.0",
        # nengo 4.x fails NengoDL 3.6's LinearFilter tests; nengo 3.2 needs numpy < 2
        "nengo==3.2.0",
        "nengo-dl==3.6.0",
        "numpy==1.26.4",
        # Nengo's sparse transforms (the PC network's pair wiring) use scipy; without it
        # Nengo falls back to dense matrices with a warning
        "scipy==1.17.1",
        "matplotlib==3.10.9",
    ],
    extras_require={
        "test": ["pytest==9.2.0"],
        "gui": ["nengo-gui==0.6.0"],
        # nengo-pc compare: the comparison grid as Dask tasks (docs/grid.md);
        # diagnostics brings bokeh, which serves the Dask dashboard
        "grid": ["dask[distributed,diagnostics]==2026.8.0", "distributed==2026.8.0"],
        # the Loihi emulator (nengo-pc evaluate --backend loihi, docs/loihi.md); its
        # last release, which installs with nengo 3.2 and Python 3.11. nengo-extras
        # holds NengoDL's builders of nengo-loihi's neurons (LoihiLIF in NengoDL)
        "loihi": ["nengo-loihi==1.1.0", "nengo-extras==0.5.0"],
    },
    entry_points={"console_scripts": ["nengo-pc = nengo_pc.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3.11",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
