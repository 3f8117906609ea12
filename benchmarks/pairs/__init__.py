"""Peer pairs of ``benchmarks/bench.py``: the same work done by nengo-pc and by a peer.

A pair is a module ``benchmarks/pairs/<name>.py`` with

``NAME`` : str
    The pair's name (the record is ``results/bench/<NAME>.json``).
``DESCRIPTION`` : str
    One line: what both sides do.
``ours(settings)`` / ``peer(settings)`` : callables
    Do the work once, nengo-pc's way and the peer's way, and return a dict with at
    least ``seconds`` (float, the timed work) and ``accuracy`` (float in [0, 1], or
    None when the work has no accuracy). Further JSON values (``images_per_second``,
    ``n_examples``, ``build_seconds`` ...) are kept in the record. Both sides time the
    same scope (e.g. both include, or both exclude, building the model).
``SETTINGS`` : dict, optional
    The pair's settings and their defaults (sizes, steps, paths ...).
``QUICK`` : dict, optional
    Overrides of ``SETTINGS`` for ``--quick`` (small sizes, for tests).

``settings`` is a plain dict: ``SETTINGS`` updated with ``QUICK`` under ``--quick``
and with ``--set key=value`` from the command line, plus ``quick`` (bool), ``seed``
(int) and ``data_dir`` (str or None). Each call runs in a fresh Python process
(bench.py measures that process's peak RSS), so a side may import what it likes and
need not clean up. A side must not modify the peer it runs: the peer runs as its
own documentation or package does it.
"""
