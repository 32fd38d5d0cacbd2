"""MTaDCS vs the plain linear probe under heavy label noise (issue 14; README "MTaDCS-style training").

Every training sample carries a noisy label (learning with noisy labels, not active learning). Per data set
(scikit-learn's digits; a synthetic Gaussian mixture), noise (50% symmetric; 40% asymmetric pair flips
c → c+1 mod K) and repeat (seed r for the noise, the filter and the training), five trainings are measured on the
clean test set:

- probe (all labels): ``LinearProbe`` (500 epochs) on every noisy label;
- probe (LOF clean set): ``LinearProbe`` on the samples ``nas.filters.LOF`` marks clean;
- MTaDCS (G0 = LOF clean set): ``MTaDCS`` with the filter's clean set as its initial confidence set;
- MTaDCS (G0 = 5 verified/class): the spec's simulated-noise setting, 5 oracle-verified samples per class;
- probe (true clean labels): the oracle reference — the probe on the truly clean samples only.

Run: ``PYTHONPATH=python python bench/compare_mtadcs.py --repeats 5 --out nas_out/mtadcs_comparison``
(prints a markdown table; writes results.json and one diagnostics plot per setting).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np

METHODS = ("probe (all labels)", "probe (LOF clean set)", "MTaDCS (G0 = LOF clean set)",
           "MTaDCS (G0 = 5 verified/class)", "probe (true clean labels)")


def synthetic_mixture(seed: int = 0, *, n_classes: int = 10, n_features: int = 32, n_train: int = 2000,
                      n_test: int = 1000):
    """A Gaussian mixture: class means ~ N(0, 1.2²·I) in 32 dimensions, two sub-clusters per class, unit noise."""
    rng = np.random.default_rng(seed)
    means = rng.normal(0.0, 1.2, size=(n_classes, 2, n_features))

    def draw(n):
        y = rng.integers(0, n_classes, n)
        sub = rng.integers(0, 2, n)
        return (means[y, sub] + rng.standard_normal((n, n_features))).astype(np.float32), y.astype(np.int64)

    X, y = draw(n_train)
    Xt, yt = draw(n_test)
    return X, y, Xt, yt


def datasets():
    from nas.demo import digits_data

    X, y, Xt, yt = digits_data()
    mean, std = X.mean(axis=0), X.std(axis=0) + 1e-3
    yield "digits", ((X - mean) / std).astype(np.float32), y, ((Xt - mean) / std).astype(np.float32), yt
    yield "mixture", *synthetic_mixture()


def noise_models(n_classes: int):
    from nas.noise import AsymmetricNoise, SymmetricNoise

    pair = np.roll(np.eye(n_classes), 1, axis=1) + np.eye(n_classes)
    yield "sym 50%", SymmetricNoise(0.5)
    yield "asym 40%", AsymmetricNoise(0.4, pair)


def one_repeat(X, y, Xt, yt, noise, seed: int, mtadcs_params: dict) -> dict:
    from nas.filters import LOF
    from nas.training import LinearProbe, MTaDCS

    K = int(y.max()) + 1
    noisy = noise.apply(y, n_classes=K, random_state=seed)
    clean_true = noisy == y
    lof_clean = LOF(random_state=seed).fit_predict(X, noisy, n_classes=K)
    verified = np.zeros(len(y), dtype=bool)
    rng = np.random.default_rng(seed)
    for c in range(K):
        verified[rng.choice(np.flatnonzero(clean_true & (noisy == c)), 5, replace=False)] = True

    def probe(mask):
        return LinearProbe(random_state=seed).fit(X[mask], noisy[mask], n_classes=K).score(Xt, yt)

    out = {"true_noise_rate": float(1 - clean_true.mean()),
           "lof_clean_size": int(lof_clean.sum()), "lof_clean_precision": float(clean_true[lof_clean].mean())}
    out["probe (all labels)"] = probe(np.ones(len(y), dtype=bool))
    out["probe (LOF clean set)"] = probe(lof_clean)
    out["probe (true clean labels)"] = probe(clean_true)
    for name, g0 in (("MTaDCS (G0 = LOF clean set)", lof_clean), ("MTaDCS (G0 = 5 verified/class)", verified)):
        start = time.perf_counter()
        model = MTaDCS(random_state=seed, **mtadcs_params).fit(X, noisy, n_classes=K, initial_set=g0, y_true=y)
        h = model.history_
        out[name] = model.score(Xt, yt)
        out[name + " seconds"] = time.perf_counter() - start
        out[name + " |G|"] = int(h["size_G"][-1])
        out[name + " precision_G"] = float(h["precision_G"][-1])
        out[name + " flips right"] = int(h["n_flipped_right"].sum())
        out[name + " flips wrong"] = int(h["n_flipped_wrong"].sum())
        out[name + " history"] = {k: v.tolist() for k, v in h.items()}
    return out


def mean_sem(values):
    v = np.asarray(values, dtype=float)
    return v.mean(), (v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else float("nan"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=60, help="MTaDCS epochs (warm-up included)")
    parser.add_argument("--queue-size", type=int, default=10000)
    parser.add_argument("--out", default="nas_out/mtadcs_comparison")
    args = parser.parse_args()
    from nas.plots import plot_training_history

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    params = {"epochs": args.epochs, "queue_size": args.queue_size}
    results, lines = {}, []
    header = "| data | noise | " + " | ".join(METHODS) + " |"
    lines += [header, "|" + "---|" * (len(METHODS) + 2)]
    for data_name, X, y, Xt, yt in datasets():
        for noise_name, noise in noise_models(int(y.max()) + 1):
            runs = []
            for r in range(args.repeats):
                runs.append(one_repeat(X, y, Xt, yt, noise, r, params))
                print(f"{data_name} {noise_name} repeat {r}: " + ", ".join(
                    f"{m} {runs[-1][m]:.1f}" for m in METHODS), file=sys.stderr, flush=True)
            key = f"{data_name} / {noise_name}"
            results[key] = runs
            cells = ["%.1f ± %.1f" % mean_sem([run[m] for run in runs]) for m in METHODS]
            lines.append(f"| {data_name} | {noise_name} | " + " | ".join(cells) + " |")
            rows = [dict(row, strategy=m) for m in METHODS if m.startswith("MTaDCS") for run in runs
                    for row in _rows(run[m + " history"])]
            plot_training_history(rows, out / f"history_{data_name}_{noise_name.replace(' ', '').replace('%', '')}.png",
                                  title=f"MTaDCS on {data_name}, {noise_name} ({args.repeats} repeats)")
    (out / "results.json").write_text(json.dumps({"params": params, "results": results}, indent=1))
    detail = ["", "| data / noise | MTaDCS G0 | final \\|G\\| | precision of G | flips right / wrong | s per fit |",
              "|---|---|---|---|---|---|"]
    for key, runs in results.items():
        for m in METHODS:
            if not m.startswith("MTaDCS"):
                continue
            size = mean_sem([r[m + " |G|"] for r in runs])
            prec = mean_sem([r[m + " precision_G"] for r in runs])
            right = np.mean([r[m + " flips right"] for r in runs])
            wrong = np.mean([r[m + " flips wrong"] for r in runs])
            secs = np.mean([r[m + " seconds"] for r in runs])
            detail.append(f"| {key} | {m[10:-1]} | {size[0]:.0f} ± {size[1]:.0f} | {prec[0]:.3f} ± {prec[1]:.3f} "
                          f"| {right:.0f} / {wrong:.0f} | {secs:.0f} |")
        lof_p = mean_sem([r["lof_clean_precision"] for r in runs])
        lof_n = np.mean([r["lof_clean_size"] for r in runs])
        detail.append(f"| {key} | (LOF filter alone) | {lof_n:.0f} | {lof_p[0]:.3f} ± {lof_p[1]:.3f} | - | - |")
    print("\n".join(lines + detail))
    return 0


def _rows(history: dict):
    n = len(history["epoch"])
    return [{k: v[i] for k, v in history.items()} for i in range(n)]


if __name__ == "__main__":
    sys.exit(main())
