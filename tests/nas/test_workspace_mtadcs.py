"""The workspace's train step with MTaDCS: `nas export --model M.pt --training mtadcs` trains on every labeled
sample from the filter's clean set and saves a model that reproduces its predictions."""
import numpy as np
import pytest
import torch

from nas.cli import main
from nas.training._mtadcs_nets import Network, embedding_encoder
from nas.workspace import Workspace

CLASSES = ["ant", "bee", "cat"]


@pytest.fixture
def workspace(tmp_path):
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 150)
    X = (4 * np.eye(3, 6)[truth] + rng.standard_normal((150, 6))).astype(np.float32)
    np.save(tmp_path / "pool.npy", X)
    noisy = truth.copy()
    noisy[::4] = (noisy[::4] + 1) % 3
    with Workspace.init(tmp_path / "ws", features=tmp_path / "pool.npy", classes=CLASSES, strategy="probcover",
                        filter="knn", batch_size=15, seed=3) as ws:
        for _ in range(3):
            q = ws.query()
            ws.annotate([(int(s), int(noisy[s])) for s in q.samples])
    return tmp_path, X


def test_export_trains_and_saves_mtadcs(workspace, capsys):
    tmp_path, X = workspace
    code = main(["export", str(tmp_path / "ws"), "--out", str(tmp_path / "labeled.csv"), "--model",
                 str(tmp_path / "mtadcs.pt"), "--training", "mtadcs", "--epochs", "6"])
    assert code == 0
    assert "wrote the MTaDCS model" in capsys.readouterr().out
    ckpt = torch.load(tmp_path / "mtadcs.pt")
    assert ckpt["classes"] == CLASSES and ckpt["n_features"] == 6
    assert ckpt["params"]["epochs"] == 6 and ckpt["params"]["warmup_epochs"] == 5
    assert len(ckpt["samples"]) == 45 == len(ckpt["corrected_labels"]) == len(ckpt["in_confidence_set"])
    assert len(ckpt["history"]["size_G"]) == 6
    params = ckpt["params"]
    net = Network(embedding_encoder(6, params["hidden"], params["projection_dim"]), params["projection_dim"], 3)
    net.load_state_dict(ckpt["state_dict"])
    with torch.no_grad():
        predicted = net.eval()(torch.from_numpy(X))[1].argmax(1).numpy()
    assert predicted.shape == (150,) and len(set(predicted.tolist())) == 3


def test_export_rejects_an_unknown_training(workspace):
    tmp_path, _ = workspace
    with Workspace.open(tmp_path / "ws") as ws:
        with pytest.raises(ValueError, match="'training' parameter of Workspace.export"):
            ws.export(tmp_path / "labeled.csv", model=tmp_path / "m.pt", training="svm")


def test_export_passes_the_mtadcs_options(workspace):
    tmp_path, _ = workspace
    code = main(["export", str(tmp_path / "ws"), "--out", str(tmp_path / "labeled.csv"), "--model",
                 str(tmp_path / "mtadcs.pt"), "--training", "mtadcs", "--mtadcs-epochs", "4", "--mtadcs-warmup", "2",
                 "--mtadcs-gamma", "0.9", "--mtadcs-no-contrastive"])
    assert code == 0
    params = torch.load(tmp_path / "mtadcs.pt")["params"]
    assert params["epochs"] == 4 and params["warmup_epochs"] == 2
    assert params["gamma"] == 0.9 and params["contrastive_weight"] == 0.0


def test_export_mtadcs_options_need_training_mtadcs(workspace, capsys):
    tmp_path, _ = workspace
    code = main(["export", str(tmp_path / "ws"), "--out", str(tmp_path / "labeled.csv"), "--mtadcs-gamma", "0.9"])
    assert code == 2
    assert "need --training mtadcs" in capsys.readouterr().err
