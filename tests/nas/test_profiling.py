"""`nas bench` / nas.profiling: every stage is timed, rates are consistent with the work and the roofs."""
import json

import numpy as np
import pytest

from nas.cli import main
from nas.profiling import choose_delta, profile_selection, synthetic_features


def test_choose_delta_hits_the_target_degree():
    import nas_ext

    X = synthetic_features(1500, 16, n_clusters=10, seed=0)
    delta = choose_delta(X, 40.0)
    degree = nas_ext.radius_graph(X, delta).nnz / X.shape[0]
    assert 20 < degree < 80


def test_profile_reports_every_stage():
    X = synthetic_features(600, 16, n_clusters=8, seed=1)
    report = profile_selection(X, picks=50, noise_filter="knn", strategy="npc", n_labeled=60, n_classes=4)
    stages = {s.stage: s for s in report.stages}
    assert list(stages) == ["radius graph", "greedy picks", "kNN graph", "diffusion", "k-center greedy",
                            "filter knn", "strategy npc"]
    assert all(s.seconds > 0 for s in report.stages)
    graph = stages["radius graph"]
    assert graph.unit == "GFLOP/s" and graph.roof == report.matmul_peak_gflops > 0
    assert graph.rate == pytest.approx(600 * 601 / 2 * 2 * 16 / graph.seconds / 1e9)
    assert graph.metrics["edges_per_second"] == pytest.approx(graph.metrics["edges"] / graph.seconds)
    assert stages["greedy picks"].rate == pytest.approx(50 / stages["greedy picks"].seconds)
    assert stages["diffusion"].unit == "GB/s" and stages["diffusion"].roof == report.bandwidth_gbs > 0
    assert "fit" in report.details["strategy npc"]
    assert report.peak_rss_mib > 0
    text = report.to_text()
    assert "radius graph" in text and "of roof" in text and "peak memory" in text
    assert json.loads(json.dumps(report.to_dict()))["stages"][0]["fraction_of_roof"] > 0


def test_bench_cli_on_synthetic_and_on_user_features(tmp_path, capsys):
    assert main(["bench", "--n", "400", "--d", "8", "--picks", "20", "--filter", "none", "--strategy", "none",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_samples"] == 400 and report["n_features"] == 8
    assert [s["stage"] for s in report["stages"]] == ["radius graph", "greedy picks", "kNN graph", "diffusion",
                                                      "k-center greedy"]
    np.save(tmp_path / "f.npy", synthetic_features(300, 12, seed=2))
    assert main(["bench", "--features", str(tmp_path / "f.npy"), "--delta", "0.3", "--filter", "cv",
                 "--strategy", "coreset", "--labeled", "30", "--classes", "3"]) == 0
    out = capsys.readouterr().out
    assert "300 x 12 features on cpu, delta 0.3" in out and "filter cv" in out and "strategy coreset" in out


def test_bench_rejects_a_cuda_request_without_cuda(capsys):
    import nas_ext

    if nas_ext.build_info()["cuda"]:
        import torch

        if torch.cuda.is_available():
            pytest.skip("a GPU is present")
    assert main(["bench", "--n", "100", "--device", "cuda"]) == 2
    assert "cuda" in capsys.readouterr().err.lower()


def test_bench_stages_flag_and_large_pool_default(capsys):
    from nas.cli.bench import _stages

    assert main(["bench", "--n", "300", "--d", "8", "--stages", "radius,greedy", "--filter", "none",
                 "--strategy", "none", "--json"]) == 0
    assert [s["stage"] for s in json.loads(capsys.readouterr().out)["stages"]] == ["radius graph", "greedy picks"]
    assert "knn" not in _stages(None, 1_000_000) and "radius" in _stages(None, 1_000_000)
    assert main(["bench", "--n", "300", "--stages", "radius,bogus"]) == 2
    assert "--stages must name stages" in capsys.readouterr().err


def test_profile_strategy_reuses_the_radius_graph(monkeypatch):
    import nas_ext

    calls = []
    build = nas_ext.radius_graph
    monkeypatch.setattr(nas_ext, "radius_graph", lambda *a, **k: calls.append(1) or build(*a, **k))
    X = synthetic_features(500, 16, n_clusters=8, seed=3)
    report = profile_selection(X, picks=20, strategy="npc", n_labeled=40, n_classes=4,
                               stages=("radius", "strategy"))
    assert [s.stage for s in report.stages] == ["radius graph", "strategy npc"]
    assert len(calls) == 1 and "fit" in report.details["strategy npc"]
