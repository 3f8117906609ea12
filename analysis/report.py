"""Markdown tables from saved benchmark records (the numbers in the README).

Reads the JSON run records that ``benchmarks/*.py --out`` write and prints one Markdown
table per record it knows, with the date and machine the numbers were measured on.
Never trains or simulates anything.

Usage::

    python analysis/report.py results/bench_bp_mlp.json [results/bench_spiking_mlp.json ...]
"""

import argparse
import sys
from pathlib import Path

try:
    import nengo_pc  # noqa: F401
except ImportError:  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nengo_pc.datafiles import DISPLAY_NAMES, DataError  # noqa: E402  (after sys.path)
from nengo_pc.results import read_record  # noqa: E402



def _provenance(record):
    machine = record["machine"]
    versions = record["versions"]
    return (f"Measured {record['created'][:10]} on {machine['processor']}, "
            f"{machine['cpu_count']} cores, no GPU; nengo {versions['nengo']}, "
            f"nengo-dl {versions['nengo-dl']}, tensorflow {versions['tensorflow']}.")


def bp_mlp_table(record):
    """Test accuracy and seconds per epoch of the NengoDL and Keras backprop MLPs."""
    m, s = record["metrics"], record["seconds"]
    lines = ["| data set | NengoDL test acc. | Keras test acc. | NengoDL s/epoch | "
             "Keras s/epoch | NengoDL / Keras time |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name in record["config"]["datasets"]:
        lines.append(
            f"| {DISPLAY_NAMES.get(name, name)} "
            f"| {100 * m[f'{name}/nengo_dl/test_accuracy']:.2f}% "
            f"| {100 * m[f'{name}/keras/test_accuracy']:.2f}% "
            f"| {s[f'{name}/nengo_dl/per_epoch']:.1f} "
            f"| {s[f'{name}/keras/per_epoch']:.1f} "
            f"| {m[f'{name}/nengo_dl_over_keras_time']:.2f}x |")
    return "\n".join(lines)


def spiking_mlp_table(record):
    """Rate vs spiking accuracy, the presentation-time sweep and the cost table."""
    m = record["metrics"]
    head = record["config"]["headline"]
    ms = head["n_steps"] * head["dt"] * 1000
    out = [
        "| rate-mode test acc. | spiking test acc. "
        f"({ms:g} ms, {head['synapse']} synapse) | spiking - rate | "
        "NengoDL = Nengo reference labels |",
        "| ---: | ---: | ---: | ---: |",
        f"| {100 * m['rate_test_accuracy']:.2f}% | {100 * m['spiking_test_accuracy']:.2f}% "
        f"| {100 * m['spiking_minus_rate']:+.2f} points "
        f"| {100 * m['reference_agreement']:.0f}% of "
        f"{record['config']['n_reference']} images |",
        "",
        f"Accuracy vs presentation time (first {record['config']['n_sweep']} test "
        "images; dt = 1 ms):",
        "",
    ]
    sweep = record["sweep"]
    times = sorted({row["ms"] for row in sweep})
    out.append("| input | synapse | " + " | ".join(f"{t:g} ms" for t in times) + " |")
    out.append("| --- | --- | " + " | ".join("---:" for _ in times) + " |")
    for coding in ("constant", "poisson"):
        for synapse in ("none", "alpha"):
            rows = {r["ms"]: r["accuracy"] for r in sweep
                    if r["input_coding"] == coding and r["synapse"] == synapse}
            if rows:
                out.append(f"| {coding} | {synapse} | " + " | ".join(
                    f"{100 * rows[t]:.2f}%" if t in rows else "" for t in times) + " |")
    rates = ", ".join(f"{r:.1f}" for r in record["firing_rates_hz"])
    out += ["", f"Mean firing rate per hidden layer (Hz): {rates}.", ""]
    out.append("| per inference | spikes | synops | dense input MACs | "
               "Loihi energy | SpiNNaker 2 energy | CPU energy |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for key, label in (("constant_input", "constant input"),
                       ("poisson_input", "Poisson input")):
        c = record["cost_per_inference"][key]
        e = c["energy_joules"]
        out.append(f"| {label} | {c['spikes']:.0f} | {c['synops']:.3g} | "
                   f"{c['dense_input_ops']:.3g} | {e['loihi'] * 1e6:.3g} uJ | "
                   f"{e['spinnaker2'] * 1e6:.3g} uJ | {e['cpu'] * 1e3:.3g} mJ |")
    ann = record["cost_per_inference"]["constant_input"]
    out.append(f"| rate network (one pass) | - | {ann['ann_macs']:.3g} MACs | - | - | - | "
               f"{ann['ann_energy_joules']['cpu'] * 1e3:.3g} mJ |")
    return "\n".join(out)


def pc_mlp_table(record):
    """Each PC variant against backprop: accuracy, time ratio, BP alignment."""
    m, s = record["metrics"], record["seconds"]
    datasets = record["config"]["datasets"]
    rules = list(record["config"]["rules"])
    head = "| rule | " + " | ".join(
        f"{DISPLAY_NAMES.get(d, d)} test acc. | {DISPLAY_NAMES.get(d, d)} s/epoch "
        f"| time / BP | lowest cosine with BP" for d in datasets) + " |"
    lines = [head, "| --- |" + " ---: | ---: | ---: | ---: |" * len(datasets)]
    for rule in rules:
        cells = []
        for d in datasets:
            ratio = m.get(f"{d}/{rule}/time_over_bp_interleaved", 1.0)
            cells += [f"{100 * m[f'{d}/{rule}/test_accuracy']:.2f}%",
                      f"{s[f'{d}/{rule}/per_epoch']:.1f}", f"{ratio:.2f}x",
                      f"{m[f'{d}/{rule}/final_alignment_min']:.3f}"]
        lines.append(f"| {rule} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


TABLES = {"bp_mlp": bp_mlp_table, "spiking_mlp": spiking_mlp_table,
          "pc_mlp": pc_mlp_table}


def report(paths):
    """Markdown for every record in ``paths``."""
    parts = []
    for path in paths:
        record = read_record(path)
        kind = record["config"].get("benchmark")
        if kind not in TABLES:
            raise ValueError(f"{path}: no table for benchmark {kind!r} "
                             f"(known: {', '.join(TABLES)})")
        parts.append(f"<!-- from {path} -->\n{TABLES[kind](record)}\n\n"
                     f"{_provenance(record)}")
    return "\n\n".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("records", nargs="+", help="JSON records written by benchmarks/")
    args = parser.parse_args(argv)
    try:
        print(report(args.records))
    except (OSError, ValueError, DataError) as err:
        parser.exit(1, f"report: error: {err}\n")


if __name__ == "__main__":
    main()
