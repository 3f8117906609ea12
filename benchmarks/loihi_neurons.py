"""Benchmark: Loihi's neuron discretisation alone, on the full test set, in NengoDL.

The networks the emulator runs (the soft-LIF MLP and CNN prepared by
`nengo_pc.loihi`, the PC network's Loihi form `nengo_pc.loihi.pc.LoihiPCNetwork`),
float weights, in NengoDL (`nengo_pc.loihi.dl`), each image from rest, with

* ``exact``: Nengo's neurons (`nengo.LIF`, `nengo.SpikingRectifiedLinear`);
* ``loihi``: nengo-loihi's (`LoihiLIF`, `LoihiSpikingRectifiedLinear` for the PC
  network's pairs), built by nengo-extras' NengoDL builders.

``exact`` against ``loihi`` is the neuron discretisation; ``loihi`` against the
emulator on the images its record used (``--subset``: the first 1,000 for the MLP,
500 for PC) is the weight and voltage quantisation plus the emulator's continuous
presentation. For PC, ``--continuous`` also runs both on the subset with each
minibatch item showing ``--chunk`` images one after another, as the emulator does,
so that only the quantisation remains between ``loihi`` and the emulator.
95% Wilson intervals.

Example::

    python benchmarks/loihi_neurons.py --network mlp --out results/loihi/neurons_mlp.json
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loihi import accuracy_with_interval, load_network, package_version  # noqa: E402

#: The emulator runs each network is compared with: shipped network, presentation,
#: the emulator's record, and how many of the first test images it used.
NETWORKS = {
    "mlp": {"pretrained": "mnist-softlif-mlp", "n_steps": 100, "synapse": "lowpass",
            "record": "results/loihi/mlp.json", "subset": 1000},
    "cnn": {"pretrained": "mnist-softlif-cnn", "n_steps": 60, "synapse": "none",
            "record": "results/loihi/cnn.json", "subset": 100},
    "pc": {"pretrained": "mnist-pc-spiking", "n_steps": 150,
           "record": "results/loihi/pc.json", "subset": 500},
}


def _log(message):
    print(message, file=sys.stderr, flush=True)


def run(args):
    import nengo_pc  # noqa: F401  (before nengo_dl: tf-keras)
    from nengo_pc.data import load_dataset
    from nengo_pc.loihi.dl import feedforward_logits, pc_logits, require_dl_builders
    from nengo_pc.results import make_record, write_json_atomic

    require_dl_builders()
    spec = NETWORKS[args.network]
    subset = args.subset or spec["subset"]
    test = load_dataset("mnist", data_dir=args.data_dir).test
    n = args.n_images or len(test)
    x, y = test.images[:n], test.labels[:n]
    load = {"start": os.getloadavg()}
    config = {"network": args.network, "pretrained": spec["pretrained"], "n_images": n,
              "subset": subset, "n_steps": spec["n_steps"], "batch_size": args.batch_size,
              "emulator_record": spec["record"],
              "nengo_loihi": package_version("nengo-loihi"),
              "nengo_extras": package_version("nengo-extras")}
    if args.network == "pc":
        import nengo_pc.pretrained
        from nengo_pc.loihi.pc import pair_amplitudes

        arch, params, _ = nengo_pc.pretrained.load(spec["pretrained"])
        train = load_dataset("mnist", data_dir=args.data_dir).train
        amplitudes = pair_amplitudes(arch, params, train.images[:1000])
        config.update(amplitudes=amplitudes, chunk=args.chunk,
                      readout="mean of x_L over the second half of each image")

        def logits(images, neurons, chunk=1):
            return {"logits": pc_logits(arch, params, amplitudes, images,
                                        spec["n_steps"], neurons == "loihi", chunk,
                                        args.batch_size if chunk == 1 else
                                        -(-len(images) // chunk), args.seed,
                                        progress=True)}

        rates = {}
    else:
        from nengo_pc.networks.presentation import Presentation

        arch, params, _ = load_network(spec["pretrained"])
        if args.fine_tune:
            params = _fine_tune(args, arch, params, config, load)
        presentation = Presentation(n_steps=spec["n_steps"], synapse=spec["synapse"],
                                    tau=0.005)
        config["presentation"] = presentation.to_dict()

        def logits(images, neurons, chunk=1):
            return feedforward_logits(arch, params, images, presentation,
                                      neurons == "loihi", batch_size=args.batch_size,
                                      seed=args.seed, progress=True)

        # rate mode on the full test set: the exact LIF curve and Loihi's
        rates = _rate_accuracy(arch, params, test)

    # resumable, one run at a time: finished runs are kept beside the record
    partial = args.out + ".partial.json"
    done = {}
    if os.path.exists(partial):
        with open(partial) as f:
            state = json.load(f)
        if state["config"] == config:
            done = state["runs"]
            _log(f"resuming: {', '.join(done)} from {partial}")
    runs = [("exact", n, 1), ("loihi", n, 1)]
    if args.continuous:
        runs += [("exact_continuous", subset, args.chunk),
                 ("loihi_continuous", subset, args.chunk)]
    for name, m, chunk in runs:
        if name in done:
            continue
        t0 = time.perf_counter()
        out = logits(x[:m], name.split("_")[0], chunk)
        done[name] = {k: v.tolist() for k, v in out.items()}
        done[name]["seconds"] = time.perf_counter() - t0
        done[name]["load_after"] = os.getloadavg()
        _log(f"{name}: {np.mean(out['logits'].argmax(1) == y[:m]):.4f} on {m} images, "
             f"{done[name]['seconds']:.0f} s")
        write_json_atomic(partial, {"config": config, "runs": done})

    with open(spec["record"]) as f:
        emulator = json.load(f)["metrics"]["emulator"]
    metrics = {"emulator_on_subset": {k: emulator[k] for k in
                                      ("accuracy", "correct", "n", "ci95")}, **rates}
    preds = {}
    for name, run_ in done.items():
        pred = np.asarray(run_["logits"]).argmax(1)
        preds[name] = pred
        m = len(pred)
        entry = {"seconds": run_["seconds"], "images_per_second": m / run_["seconds"],
                 "load_after": run_["load_after"]}
        # "full": the whole test set; "all": the first n_images of it
        whole_set = "full" if n == len(test) else "all"
        if m == n:
            entry[whole_set] = accuracy_with_interval(pred, y)
        entry["subset"] = accuracy_with_interval(pred[:subset], y[:subset])
        for k in args.first:
            if k <= m:
                entry[f"first_{k}"] = accuracy_with_interval(pred[:k], y[:k])
        if "logits_whole_window" in run_:
            whole = np.asarray(run_["logits_whole_window"]).argmax(1)
            entry[f"{whole_set}_whole_window"] = accuracy_with_interval(whole, y)
        metrics[name] = entry
    for a, b in (("exact", "loihi"), ("exact_continuous", "loihi_continuous")):
        if a in preds and b in preds:
            right_a, right_b = preds[a] == y[:len(preds[a])], preds[b] == y[:len(preds[b])]
            metrics[f"{a}_vs_{b}"] = {
                "label_agreement": float(np.mean(preds[a] == preds[b])),
                f"only_{a}_right": int(np.sum(right_a & ~right_b)),
                f"only_{b}_right": int(np.sum(right_b & ~right_a))}
    load["end"] = os.getloadavg()
    record = make_record("bench_loihi_neurons", config=config, seed=args.seed,
                         metrics=metrics,
                         predictions={k: v.tolist() for k, v in preds.items()},
                         seconds={k: v["seconds"] for k, v in done.items()},
                         load_average=load,
                         note="NengoDL, float weights; the emulator's figures are "
                              "copied from emulator_record")
    return record, partial


def _rate_accuracy(arch, params, test):
    """Rate mode (`nengo_pc.rates.forward`) on ``test`` through the exact LIF curve
    and through Loihi's (`nengo_pc.loihi.dl.loihi_rate_curve`)."""
    from nengo_pc.loihi.dl import loihi_rate_curve
    from nengo_pc.rates import forward

    out = {}
    for name, curve in (("exact_rate", None), ("loihi_rate", loihi_rate_curve(arch.lif))):
        pred = np.concatenate([
            forward(arch, params, test.images[i:i + 500], activation=curve).argmax(1)
            for i in range(0, len(test), 500)])
        out[name] = {"full": accuracy_with_interval(pred, test.labels)}
        _log(f"{name}: {out[name]['full']['accuracy']:.4f}")
    return out


def _fine_tune(args, arch, params, config, load):
    """Loihi-aware training (`nengo_pc.loihi.dl.fine_tune`), kept beside the record
    (``--out`` + ``.params.npz``; the shipped parameters are not changed)."""
    from nengo_pc.arch import load_params, save_params
    from nengo_pc.data import load_dataset
    from nengo_pc.loihi.dl import fine_tune

    config["fine_tune"] = {"epochs": args.fine_tune, "learning_rate": args.learning_rate,
                           "batch_size": 100, "images": "the 60,000 training images, "
                           "shuffled each epoch, no augmentation",
                           "optimizer": "adam", "neurons": "LoihiLIF (nengo-extras' "
                           "rate form: Loihi's curve forwards, soft-LIF gradient)"}
    path = args.out + ".params.npz"
    if os.path.exists(path):
        _log(f"fine-tuned parameters from {path}")
        return load_params(path)[1]
    train = load_dataset("mnist", data_dir=args.data_dir).train
    load["fine_tune_start"] = os.getloadavg()
    t0 = time.perf_counter()
    params = fine_tune(arch, params, train.images, train.labels, epochs=args.fine_tune,
                       learning_rate=args.learning_rate, seed=args.seed, verbose=2)
    config["fine_tune"]["seconds"] = time.perf_counter() - t0
    load["fine_tune_end"] = os.getloadavg()
    save_params(path, arch, params, fine_tune=config["fine_tune"])
    _log(f"fine-tuned in {config['fine_tune']['seconds']:.0f} s: {path}")
    return params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--network", required=True, choices=sorted(NETWORKS))
    parser.add_argument("--n-images", type=int, default=None,
                        help="first test images (default: all)")
    parser.add_argument("--subset", type=int, default=None,
                        help="first images the emulator's record used (default per "
                             "network: MLP 1000, CNN 100, PC 500)")
    parser.add_argument("--first", type=int, nargs="+", default=[], metavar="N",
                        help="also report the accuracy on the first N images")
    parser.add_argument("--continuous", action="store_true",
                        help="PC: also run the subset in chunks shown continuously")
    parser.add_argument("--chunk", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--fine-tune", type=int, default=0, metavar="EPOCHS",
                        help="MLP, CNN: first train this many epochs with LoihiLIF "
                             "neurons in NengoDL (Loihi-aware training)")
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.fine_tune and args.network == "pc":
        parser.error("--fine-tune: only for --network mlp or cnn")
    if args.continuous and args.network != "pc":
        parser.error("--continuous: only for --network pc")
    from nengo_pc.results import write_json_atomic

    record, partial = run(args)
    write_json_atomic(args.out, record)
    if os.path.exists(partial):
        os.remove(partial)
    m = record["metrics"]
    _log(f"wrote {args.out}: exact {m['exact']['subset']['accuracy']:.4f}, Loihi "
         f"neurons {m['loihi']['subset']['accuracy']:.4f} on the subset")


if __name__ == "__main__":
    main()
