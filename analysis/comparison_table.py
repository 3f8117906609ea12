"""The comparison table: every learning rule against backprop, from saved run records.

Reads the run records under a results directory -- ``benchmarks/compare_rules.py``
(one per data set, rule and seed), ``benchmarks/spiking_mlp.py``,
``benchmarks/spiking_pc.py`` and ``benchmarks/spiking_pc_online.py`` records saved
there as ``<dataset>/<name>_seed<k>.json`` -- and writes one row per method with: test
accuracy (of spiking runs, the spiking network's own, where the record has it over the
full test set) as mean +- standard deviation over the seeds found (and how many),
epochs, seconds per epoch, the final per-layer cosine of the method's update with the
backprop gradient (minimum over layers, mean over seeds), synaptic operations per
inference for spiking runs, and which of the six problems backprop has with biology
each method addresses, with one line of justification. Never trains; methods without
records are listed as "not run".

Writes Markdown (``--markdown``) and CSV (``--csv``) and prints the Markdown.

Usage::

    python analysis/comparison_table.py results/compare \\
        --markdown results/comparison_table.md --csv results/comparison_table.csv
"""

import argparse
import csv
import math
import sys
from pathlib import Path

try:
    import nengo_pc  # noqa: F401
except ImportError:  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nengo_pc.datafiles import COUNTS, DATASETS  # noqa: E402  (after the path fix-up)
from nengo_pc.results import seed_records  # noqa: E402


#: The six problems of backprop with biology (Bengio et al. 2015; the thesis):
#: weight transport, derivative, linear feedback, spiking, timing, target.
PROBLEMS = ("weight transport", "derivative", "linear feedback", "spiking", "timing",
            "target")

#: Per method: (label, record name, {problem: "yes" | "partly"}, justification).
#: Problems not listed are not addressed. Learning rules go by their registry names
#: (`nengo_pc.rules`); `nengo_pc.results.seed_records` maps older record names.
METHODS = (
    ("BP", "bp-mse", {}, "the reference: exact gradients through a separate, linear "
     "backward pass with W^T and f'"),
    ("FA", "fa", {"weight transport": "yes"}, "errors return through fixed random "
     "matrices B, not W^T; still a separate backward pass using f'"),
    ("DFA", "dfa", {"weight transport": "yes", "timing": "partly"}, "the output error "
     "reaches every layer at once through fixed random matrices: no W^T, no "
     "layer-by-layer backward sweep"),
    ("EqProp", "eqprop", {"weight transport": "partly", "derivative": "yes",
                          "linear feedback": "yes"},
     "one recurrent network computes both phases with its own nonlinear dynamics; "
     "needs symmetric weights and two phases"),
    ("CHL", "chl", {"weight transport": "partly", "derivative": "yes",
                    "linear feedback": "yes"},
     "Hebbian difference between a free and an output-clamped phase of one "
     "recurrent network; symmetric weights"),
    ("PC standard", "pc-standard", {"timing": "partly", "linear feedback": "partly"},
     "local pre-times-post-error updates after inference settles; errors flow "
     "through W^T and f' within the network's own dynamics"),
    ("PC fixed prediction", "pc-fixed-prediction", {},
     "equals BP, but predictions must be held at their feedforward values during "
     "inference"),
    ("PC Z-IL", "pc-zil", {}, "equals BP, but each layer must learn at an exact "
     "inference step (precise timing) and W^T is used"),
    ("PC incremental", "pc-incremental", {"timing": "yes", "linear feedback": "partly"},
     "values and weights change together at every step: no phases, no waiting "
     "for convergence"),
    ("soft-LIF spiking MLP", "spiking_mlp", {"spiking": "yes"},
     "spiking LIF inference; trained offline with BP through soft-LIF rates"),
    ("spiking PC", "spiking_pc", {"spiking": "yes"},
     "the PC network of Nengo ensembles run with spikes (LIF activities, "
     "integrate-and-fire value and error pairs); trained by Z-IL in the vectorised "
     "path, only inference spikes"),
    ("spiking PC, online", "spiking_pc_online",
     {"weight transport": "partly", "linear feedback": "partly", "spiking": "yes",
      "timing": "partly"},
     "the same spiking network learning online, in NengoDL, with the local "
     "pre-times-post-error product during a clamped phase; the feedback weights "
     "learn by their own local product and so stay equal to W^T without being "
     "copied; needs a sweep/clamp phase schedule"),
)


def _accuracy(record):
    m = record["metrics"]
    # an online spiking run evaluated on the full test set after training
    # (``--final-eval-spiking``) is scored by the spiking network's own output, like
    # the offline spiking rows, not by the feedforward pass of its parameters
    for key in ("final_spiking_accuracy", "test_accuracy", "spiking_test_accuracy"):
        if key in m:
            return m[key]
    raise ValueError(f"record has no test accuracy: {sorted(m)}")


def _epochs(record):
    online = record["config"].get("online")
    if online:  # online learning: passes over the training set
        return round(online["n_samples"] / COUNTS["train"], 2)
    train = record["config"].get("train") or {}
    # (a run that loaded trained parameters keeps their training settings in metadata)
    return train.get("epochs", (train.get("metadata") or {}).get("epochs"))


def _seconds_per_epoch(record):
    seconds = record["seconds"]
    if "per_epoch" in seconds:
        return seconds["per_epoch"]
    online = record["config"].get("online")
    if online and "train" in seconds:  # online learning: training time per pass
        return seconds["train"] / (online["n_samples"] / COUNTS["train"])
    return None


def _network(record):
    arch = record["config"].get("architecture")
    if not arch:
        return None
    return "-".join(str(n) for n in arch["sizes"]) + " " + arch["activation"]


def _synops(record):
    """Synaptic operations per inference (constant input) of a spiking run."""
    cost = (record.get("cost_per_inference") or {}).get("constant_input") or {}
    return cost.get("synops", record["metrics"].get("synops_per_inference"))


def _mean_std(values):
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var)


def rows(groups):
    """One dict per method of `METHODS`, with its measured columns."""
    table = []
    for label, name, addressed, why in METHODS:
        row = {"method": label}
        epochs, networks, per_epoch, alignment, synops = set(), set(), [], [], []
        for dataset in DATASETS:
            records = groups.get((name, dataset), [])
            if records:
                mean, std = _mean_std([100 * _accuracy(r) for r in records])
                row[f"{dataset}_mean"], row[f"{dataset}_std"] = mean, std
                row[f"{dataset}_seeds"] = len(records)
            for r in records:
                epochs.add(_epochs(r))
                networks.add(_network(r))
                if _seconds_per_epoch(r) is not None:
                    per_epoch.append(_seconds_per_epoch(r))
                if r["metrics"].get("final_alignment_min") is not None:
                    alignment.append(r["metrics"]["final_alignment_min"])
                if _synops(r) is not None:
                    synops.append(_synops(r))
        row["epochs"] = "/".join(str(e) for e in sorted(e for e in epochs if e)) or None
        row["network"] = ", ".join(sorted(n for n in networks if n)) or None
        row["seconds_per_epoch"] = sum(per_epoch) / len(per_epoch) if per_epoch else None
        row["bp_alignment"] = sum(alignment) / len(alignment) if alignment else None
        row["synops"] = sum(synops) / len(synops) if synops else None
        for problem in PROBLEMS:
            row[problem] = addressed.get(problem, "no")
        row["why"] = why
        table.append(row)
    return table


def _fmt_accuracy(row, dataset):
    if f"{dataset}_mean" not in row:
        return "not run"
    std = row[f"{dataset}_std"]
    spread = f" +- {std:.2f}" if std is not None else ""
    return f"{row[f'{dataset}_mean']:.2f}{spread} (n={row[f'{dataset}_seeds']})"


def _fmt(value, spec):
    return "-" if value is None else format(value, spec)


def markdown(table, provenance=""):
    """The table as Markdown, then the justification lines."""
    marks = {"yes": "yes", "partly": "partly", "no": ""}
    head = (["method", "network", "MNIST test %", "Fashion-MNIST test %", "epochs",
             "s/epoch", "BP cosine", "synops/inference"] + list(PROBLEMS))
    lines = ["| " + " | ".join(head) + " |",
             "| " + " | ".join(["---", "---"] + ["---:"] * 6 + [":---:"] * len(PROBLEMS))
             + " |"]
    for row in table:
        cells = [row["method"], row["network"] or "-", _fmt_accuracy(row, "mnist"),
                 _fmt_accuracy(row, "fashion_mnist"), row["epochs"] or "-",
                 _fmt(row["seconds_per_epoch"], ".1f"), _fmt(row["bp_alignment"], ".3f"),
                 _fmt(row["synops"], ".3g")]
        cells += [marks[row[p]] for p in PROBLEMS]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"- **{row['method']}**: {row['why']}." for row in table]
    if provenance:
        lines += ["", provenance]
    return "\n".join(lines)


def write_csv(table, path):
    fields = (["method"] + [f"{d}_{k}" for d in DATASETS for k in ("mean", "std", "seeds")]
              + ["network", "epochs", "seconds_per_epoch", "bp_alignment", "synops"]
              + list(PROBLEMS) + ["why"])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for row in table:
            writer.writerow({k: row.get(k) for k in fields})
    return path


def _provenance(groups):
    records = [r for rs in groups.values() for r in rs]
    if not records:
        return ""
    dates = sorted(r["created"][:10] for r in records)
    machine = records[0]["machine"]
    return (f"Measured {dates[0]} to {dates[-1]} on {machine['processor']}, "
            f"{machine['cpu_count']} cores, no GPU ({len(records)} runs). BP cosine: "
            f"per-layer cosine of the rule's update with the backprop gradient after "
            f"the last epoch, minimum over layers, mean over runs (EqProp and CHL: "
            f"with the gradient through their own free phase).")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results_dir", nargs="?", default="results/compare")
    parser.add_argument("--markdown", default=None, help="write the Markdown here")
    parser.add_argument("--csv", default=None, help="write the CSV here")
    args = parser.parse_args(argv)
    if not Path(args.results_dir).is_dir():
        parser.error(f"results_dir: {args.results_dir} is not a directory")
    groups = seed_records(args.results_dir)
    table = rows(groups)
    text = markdown(table, _provenance(groups))
    if args.markdown:
        path = Path(args.markdown)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    if args.csv:
        write_csv(table, args.csv)
    print(text)


if __name__ == "__main__":
    main()
