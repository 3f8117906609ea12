"""Installation of nengo-pc.

The stack is pinned exactly; the README's "Dependency stack" section records the
measurements behind each pin (see also ../shared/STACK.md).
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
    install_requires=[
        # TensorFlow 2.12 is the newest release NengoDL 3.6.0 imports unpatched and the
        # oldest with Python 3.11 wheels; 2.16+ ships Keras 3, which NengoDL cannot use.
        "tensorflow==2.12.1",
        "nengo==3.2.0",
        "nengo-dl==3.6.0",
        # TensorFlow 2.12 requires numpy < 1.25
        "numpy==1.24.3",
        "matplotlib==3.10.9",
    ],
    extras_require={
        "test": ["pytest==9.2.0"],
        "gui": ["nengo-gui==0.6.0"],
    },
    entry_points={"console_scripts": ["nengo-pc = nengo_pc.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3.11",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
