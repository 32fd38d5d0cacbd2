"""`nas demo --quick`: the smoke version of `make demo` prints its table and writes the plots."""
from nas.cli import main


def test_quick_demo_prints_the_table_and_writes_the_plots(tmp_path, capsys):
    assert main(["demo", "--quick", "--quiet", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("random", "probcover", "npc", "weighted_npc", "accuracy_diff (mean ± sem)"):
        assert name in out
    for name in ("results.json", "summary.csv", "accuracy_difference.png", "filter_metrics.png"):
        assert (tmp_path / name).stat().st_size > 0
