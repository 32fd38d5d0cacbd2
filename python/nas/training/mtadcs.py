"""MTaDCS (seed 002): training under label noise on a confidence set grown by per-class LOF.

The procedure follows ``specs/seeds-002-003-planner.md`` §1.1 with its resolutions (§1.5): warm-up on the initial
confidence set G; then every epoch (a) predict every sample, (b) add to G the samples outside it whose prediction
agrees with their label and whose LOF among their class' agreeing samples is ≤ ``lof_threshold``, (c) remove from
G the members whose prediction disagrees, (d) train one epoch on G with mixup cross-entropy plus a MoCo-style
supervised contrastive loss on G's keys, (e) self-ensemble label correction on every sample (the one-hot of the
prediction, since the printed Eq. 7 cannot flip a label). Optional fine-tuning on the final G (MTaDCS+).
"""
from __future__ import annotations

import copy
import logging
from typing import Optional

import numpy as np
import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from nas_ext._validation import check_choice, check_features, check_float, check_int, param_error

from ._confidence_set import REFERENCES, auto_correction_alpha, correct_labels, select_confidence_set
from ._mtadcs_nets import FeatureInputs, ImageInputs, Network, embedding_encoder, image_encoder
from ._sgd import SGDConfig, check_labels, cosine_lr, epoch_batches, one_cpu_thread, repeated_indices, \
    resolve_torch_device, torch_seed
from .resnet import _check_images

__all__ = ["MTaDCS", "BACKBONES", "HISTORY_FIELDS"]

logger = logging.getLogger(__name__)

BACKBONES = ("mlp", "linear", "resnet18")
CORRECTION_TARGETS = ("onehot", "softmax")
HISTORY_FIELDS = ("epoch", "warmup", "lr", "loss", "size_G", "n_added", "n_removed", "n_flipped",
                  "n_flipped_right", "n_flipped_wrong", "precision_G", "recall_G", "precision_candidates",
                  "precision_added")
_EVAL_ROWS = 4096


class MTaDCS:
    """Confidence-set training under label noise (Huang et al., ECCV 2024), sklearn-style.

    Parameters
    ----------
    backbone : "mlp" (default; frozen embeddings → ``hidden`` → ReLU → ``projection_dim``), "linear" (one
        d → ``projection_dim`` layer) or "resnet18" (uint8 images (n, H, W, C), ResNet-18 trunk of ``width``).
    epochs : T_max, every epoch counted (warm-up included). Default 60 (the spec's CPU setting; the paper: 250).
    warmup_epochs : T_P, epochs on the initial set before selection starts (default 5; the paper: 10).
    lr, momentum, weight_decay, batch_size : SGD (momentum, no Nesterov) with a per-epoch cosine schedule from
        ``lr`` (default 0.05, 0.9, 1e-4, 64). An epoch is one pass over G (batches drawn from G only), but at
        least ``min_batches_per_epoch`` batches (default 20; 1 = the spec's plain pass). Deviation: with a
        5-per-class G0 one pass is a single SGD step, the warm-up then leaves the model near chance, and the
        first selection floods G with the class it happens to predict (measured on digits: collapse to one
        class and 9% accuracy).
    n_neighbors, lof_threshold, lof_quantile, lof_reference : the selection (m = 10, LOF ≤ 1.5; or keep the
        lowest-LOF fraction ``lof_quantile`` of each class; reference set "candidates" or "G_c+P_c").
    sample_removal : remove members of G whose prediction disagrees with their label (Eq. 3).
    mixup_alpha : lambda ~ Beta(a, a) per batch; 0 turns mixup off.
    contrastive_weight, temperature, queue_size, key_momentum : the local contrastive loss (weight 1, tau 0.1,
        a bank of 10^4 keys from G, MoCo momentum 0.999); weight 0 turns it off (no key encoder is built).
    label_correction, correction_alpha, gamma, correction_target : Eq. 7. ``correction_alpha=None`` rescales the
        momentum to the run's length (1 − (1 − gamma)^(1/E), E = 2/3 of the post-warm-up epochs); the paper's
        0.01 needs ≥ 161 post-warm-up epochs to flip anything at gamma = 0.8. Target: the prediction's one-hot
        (SELC) or its softmax.
    finetune_epochs, finetune_lr : MTaDCS+ — then train on the final G with mixup CE only, weak augmentation
        (flips; no jitter), constant ``finetune_lr`` (default 0 epochs, lr 0.001).
    hidden, projection_dim, jitter : the embedding backbone (256, 128, Gaussian jitter sigma 0.1).
    width, flip : the ResNet-18 backbone (first-stage channels 64, horizontal flips).
    device : "cpu" or "cuda[:N]" through torch (CUDA code path not run on a GPU in this repository's tests).
    random_state : None, an int or a numpy Generator; the same seed gives bit-identical results on the CPU at
        any thread count (training runs on one intra-op torch thread).
    progress : show a tqdm bar over epochs.

    Fitted attributes: ``in_confidence_set_`` (n,) bool, ``labels_`` (n,) int64 corrected labels,
    ``soft_labels_`` (n, K) float32, ``lof_`` (n,) float64 of the last selection (NaN where not scored),
    ``epochs_in_set_`` / ``epochs_out_of_set_`` (n,) int32 (moving-trace counts), ``history_`` (a dict of
    per-epoch arrays, see ``HISTORY_FIELDS``; precision/recall need ``y_true``), ``model_``, ``n_classes_``.

    Cost per epoch: a forward pass over all n samples, per class a kNN search among the agreeing candidates
    (Θ(|P~_c|²·d_z)), and |G|/batch_size SGD steps of three forward passes (mixed query, query, key).

    Example
    -------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(3), 40); X = (4 * np.eye(3)[y] + rng.standard_normal((120, 3))).astype(np.float32)
    >>> noisy = y.copy(); noisy[:12] = (noisy[:12] + 1) % 3
    >>> # contrastive term off: on tiny low-dimensional data it hurts (73% with it here; see the README)
    >>> model = MTaDCS(epochs=15, warmup_epochs=3, contrastive_weight=0.0, random_state=0).fit(X, noisy, y_true=y)
    >>> model.score(X, y) > 80
    True
    """

    def __init__(self, *, backbone: str = "mlp", epochs: int = 60, warmup_epochs: int = 5, lr: float = 0.05,
                 momentum: float = 0.9, weight_decay: float = 1e-4, batch_size: int = 64,
                 min_batches_per_epoch: int = 20, n_neighbors: int = 10,
                 lof_threshold: float = 1.5, lof_quantile: Optional[float] = None,
                 lof_reference: str = "candidates", sample_removal: bool = True, mixup_alpha: float = 1.0,
                 contrastive_weight: float = 1.0, temperature: float = 0.1, queue_size: int = 10000,
                 key_momentum: float = 0.999, label_correction: bool = True,
                 correction_alpha: Optional[float] = None, gamma: float = 0.8, correction_target: str = "onehot",
                 finetune_epochs: int = 0, finetune_lr: float = 0.001, hidden: int = 256,
                 projection_dim: int = 128, jitter: float = 0.1, width: int = 64, flip: bool = True,
                 device="cpu", random_state=None, progress: bool = False):
        self.backbone = backbone
        self.epochs = epochs
        self.warmup_epochs = warmup_epochs
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.min_batches_per_epoch = min_batches_per_epoch
        self.n_neighbors = n_neighbors
        self.lof_threshold = lof_threshold
        self.lof_quantile = lof_quantile
        self.lof_reference = lof_reference
        self.sample_removal = sample_removal
        self.mixup_alpha = mixup_alpha
        self.contrastive_weight = contrastive_weight
        self.temperature = temperature
        self.queue_size = queue_size
        self.key_momentum = key_momentum
        self.label_correction = label_correction
        self.correction_alpha = correction_alpha
        self.gamma = gamma
        self.correction_target = correction_target
        self.finetune_epochs = finetune_epochs
        self.finetune_lr = finetune_lr
        self.hidden = hidden
        self.projection_dim = projection_dim
        self.jitter = jitter
        self.width = width
        self.flip = flip
        self.device = device
        self.random_state = random_state
        self.progress = progress

    # ------------------------------------------------------------------ validation
    def _check_params(self, owner: str) -> SGDConfig:
        check_choice(self.backbone, owner, "backbone", BACKBONES)
        cfg = SGDConfig(owner, epochs=self.epochs, lr=self.lr, momentum=self.momentum,
                        weight_decay=self.weight_decay, batch_size=self.batch_size)
        check_int(self.warmup_epochs, owner, "warmup_epochs", low=0, high=cfg.epochs)
        check_int(self.min_batches_per_epoch, owner, "min_batches_per_epoch", low=1)
        check_int(self.n_neighbors, owner, "n_neighbors", low=1)
        check_float(self.lof_threshold, owner, "lof_threshold", low=0.0, low_open=True)
        if self.lof_quantile is not None:
            check_float(self.lof_quantile, owner, "lof_quantile", low=0.0, high=1.0, low_open=True)
        check_choice(self.lof_reference, owner, "lof_reference", REFERENCES)
        check_float(self.mixup_alpha, owner, "mixup_alpha", low=0.0)
        check_float(self.contrastive_weight, owner, "contrastive_weight", low=0.0)
        check_float(self.temperature, owner, "temperature", low=0.0, low_open=True)
        check_int(self.queue_size, owner, "queue_size", low=0)
        check_float(self.key_momentum, owner, "key_momentum", low=0.0, high=1.0)
        if self.correction_alpha is not None:
            check_float(self.correction_alpha, owner, "correction_alpha", low=0.0, high=1.0, low_open=True)
        check_float(self.gamma, owner, "gamma", low=0.0, high=1.0, high_open=True)
        check_choice(self.correction_target, owner, "correction_target", CORRECTION_TARGETS)
        check_int(self.finetune_epochs, owner, "finetune_epochs", low=0)
        check_float(self.finetune_lr, owner, "finetune_lr", low=0.0, low_open=True)
        check_int(self.hidden, owner, "hidden", low=0)
        check_int(self.projection_dim, owner, "projection_dim", low=1)
        check_float(self.jitter, owner, "jitter", low=0.0)
        check_int(self.width, owner, "width", low=1)
        return cfg

    def _check_inputs(self, X, owner: str):
        if self.backbone == "resnet18":
            return _check_images(X, owner)
        return check_features(X, owner, "X")

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, *, n_classes: Optional[int] = None, initial_set=None, y_true=None) -> "MTaDCS":
        """Train on ``X`` — (n, d) float embeddings, or (n, H, W, C) uint8 images with ``backbone="resnet18"`` —
        and noisy integer labels ``y`` (n,) in [0, n_classes).

        ``initial_set`` (n,) bool is the initial confidence set G0 (e.g. a few oracle-verified samples per class,
        or a noise filter's clean set); None means every sample (the paper's real-world setting). ``y_true`` (n,)
        int, when known, only feeds the diagnostics (precision/recall of G, right/wrong corrections).
        """
        owner = "MTaDCS.fit"
        cfg = self._check_params(owner)
        X = self._check_inputs(X, owner)
        n = X.shape[0]
        y, n_classes = check_labels(y, n, n_classes, owner)
        if n_classes < 2:
            raise param_error(owner, "n_classes", "an int in [2, inf]", n_classes)
        in_set = _check_mask(initial_set, n, owner)
        if y_true is not None:
            y_true, _ = check_labels(y_true, n, n_classes, owner)
        device = resolve_torch_device(self.device, owner)
        seed = torch_seed(self.random_state, owner)
        generator = torch.Generator().manual_seed(seed)
        rng = np.random.default_rng(seed)

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = self._network(X, n_classes).to(device)
        inputs = (ImageInputs(X, device, bool(self.flip)) if self.backbone == "resnet18"
                  else FeatureInputs(X, device, float(self.jitter)))
        with one_cpu_thread(device):
            state = _Trainer(self, cfg, model, inputs, n_classes, generator, rng, device)
            state.run(y, in_set, y_true)
        self.model_ = model.eval()
        self.inputs_kind_ = type(inputs)
        self.image_stats_ = (inputs.mean, inputs.std) if isinstance(inputs, ImageInputs) else None
        self.n_classes_ = n_classes
        self.n_features_in_ = X.shape[1] if X.ndim == 2 else None
        self.device_ = device
        self.in_confidence_set_ = state.in_set
        self.labels_ = state.y
        self.soft_labels_ = state.P
        self.lof_ = state.lof
        self.epochs_in_set_ = state.cnt_in
        self.epochs_out_of_set_ = state.cnt_out
        self.history_ = {k: np.asarray([row[k] for row in state.history]) for k in HISTORY_FIELDS}
        self.correction_alpha_ = state.alpha
        return self

    def _network(self, X: np.ndarray, n_classes: int) -> Network:
        dim = int(self.projection_dim)
        if self.backbone == "resnet18":
            encoder = image_encoder(X.shape[3], int(self.width), dim)
        else:
            encoder = embedding_encoder(X.shape[1], 0 if self.backbone == "linear" else int(self.hidden), dim)
        return Network(encoder, dim, n_classes)

    # ------------------------------------------------------------------ inference
    def _inputs_for(self, X, owner: str):
        if not hasattr(self, "model_"):
            raise RuntimeError(f"{owner}: this MTaDCS is not fitted yet; call fit first.")
        X = self._check_inputs(X, owner)
        if self.image_stats_ is not None:
            return ImageInputs(X, self.device_, False, *self.image_stats_)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"MTaDCS was fitted on {self.n_features_in_} features; X has {X.shape[1]}.")
        return FeatureInputs(X, self.device_, 0.0)

    def decision_function(self, X) -> np.ndarray:
        """Logits, float32 (n, n_classes)."""
        inputs = self._inputs_for(X, "MTaDCS.decision_function")
        with one_cpu_thread(self.device_):
            return _evaluate(self.model_, inputs)[1]

    def transform(self, X) -> np.ndarray:
        """The L2-normalised representation f(x) that LOF is measured in, float32 (n, projection_dim)."""
        inputs = self._inputs_for(X, "MTaDCS.transform")
        with one_cpu_thread(self.device_):
            return _evaluate(self.model_, inputs)[0]

    def predict(self, X) -> np.ndarray:
        """Predicted class per row, int64."""
        return self.decision_function(X).argmax(axis=1).astype(np.int64)

    def score(self, X, y) -> float:
        """Top-1 accuracy in percent."""
        y = np.asarray(y)
        if y.shape[0] == 0:
            raise ValueError("MTaDCS.score needs at least one test sample.")
        return float(100.0 * np.mean(self.predict(X) == y))


def _check_mask(mask, n: int, owner: str) -> np.ndarray:
    if mask is None:
        return np.ones(n, dtype=bool)
    arr = np.asarray(mask)
    if arr.dtype != bool or arr.shape != (n,):
        raise param_error(owner, "initial_set", f"a boolean mask of shape ({n},)", arr,
                          exc=TypeError if arr.dtype != bool else ValueError)
    if not arr.any():
        raise param_error(owner, "initial_set", "a mask with at least one True entry (the warm-up trains on it)",
                          "an all-False mask", describe=False)
    return arr.copy()


@torch.no_grad()
def _evaluate(model: Network, inputs) -> tuple:
    """(z (n, d_z) float32, logits (n, K) float32) in eval mode, no augmentation."""
    was_training = model.training
    model.eval()
    zs, logits = [], []
    for start in range(0, len(inputs), _EVAL_ROWS):
        rows = torch.arange(start, min(start + _EVAL_ROWS, len(inputs)))
        z, out = model(inputs.batch(rows, augment=False, generator=None))
        zs.append(z.cpu())
        logits.append(out.cpu())
    model.train(was_training)
    return torch.cat(zs).numpy(), torch.cat(logits).numpy()


class _Trainer:
    """The state of one fit: labels, confidence set, soft labels, counters, the key encoder and its queue."""

    def __init__(self, est: MTaDCS, cfg: SGDConfig, model: Network, inputs, n_classes: int,
                 generator: torch.Generator, rng: np.random.Generator, device: torch.device):
        self.est, self.cfg, self.model, self.inputs = est, cfg, model, inputs
        self.n_classes, self.generator, self.rng, self.device = n_classes, generator, rng, device
        self.optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                                         weight_decay=cfg.weight_decay)
        self.contrastive = est.contrastive_weight > 0
        self.key_encoder = copy.deepcopy(model.encoder).requires_grad_(False) if self.contrastive else None
        # The memory bank: a ring buffer of the newest ``queue_size`` keys from G and their labels.
        self.queue_keys = torch.zeros(int(est.queue_size), est.projection_dim, device=device)
        self.queue_labels = torch.zeros(int(est.queue_size), dtype=torch.int64, device=device)
        self.queue_filled, self.queue_head = 0, 0
        post = cfg.epochs - est.warmup_epochs
        self.alpha = float(est.correction_alpha) if est.correction_alpha is not None else \
            auto_correction_alpha(est.gamma, max(post, 1))
        self.history = []

    def run(self, y: np.ndarray, in_set: np.ndarray, y_true: Optional[np.ndarray]) -> None:
        est, n = self.est, len(self.inputs)
        self.y, self.in_set = y.copy(), in_set
        self.P = np.eye(self.n_classes, dtype=np.float32)[y]
        self.lof = np.full(n, np.nan)
        self.cnt_in = np.zeros(n, dtype=np.int32)
        self.cnt_out = np.zeros(n, dtype=np.int32)
        labels = torch.empty(n, dtype=torch.int64, device=self.device)
        z, logits = _evaluate(self.model, self.inputs)
        warned = False
        for epoch in tqdm(range(self.cfg.epochs), desc="MTaDCS epochs", disable=not est.progress):
            row = dict.fromkeys(HISTORY_FIELDS, np.nan)
            row.update(epoch=epoch, warmup=epoch < est.warmup_epochs, n_added=0, n_removed=0, n_flipped=0,
                       n_flipped_right=0, n_flipped_wrong=0)
            if epoch >= est.warmup_epochs:
                self._select(z, logits.argmax(axis=1), y_true, row)
            self.cnt_in += self.in_set
            self.cnt_out += ~self.in_set
            lr = cosine_lr(self.cfg.lr, epoch, self.cfg.epochs)
            row["lr"] = lr
            members = np.flatnonzero(self.in_set)
            if members.size:
                labels.copy_(torch.from_numpy(self.y))
                row["loss"] = self._epoch(members, labels, lr, contrastive=self.contrastive, augment=True)
            elif not warned:
                logger.warning("MTaDCS: the confidence set is empty at epoch %d; no training until samples join "
                               "it again.", epoch)
                warned = True
            z, logits = _evaluate(self.model, self.inputs)
            if est.label_correction and epoch >= est.warmup_epochs:
                self._correct(logits, y_true, row)
            row["size_G"] = int(self.in_set.sum())
            if y_true is not None:
                correct = self.y == y_true
                row["precision_G"] = float(correct[self.in_set].mean()) if self.in_set.any() else np.nan
                row["recall_G"] = float(self.in_set[correct].mean()) if correct.any() else np.nan
            logger.debug("MTaDCS epoch %d: |G|=%d added=%d removed=%d flipped=%d precision=%.3f", epoch,
                         row["size_G"], row["n_added"], row["n_removed"], row["n_flipped"], row["precision_G"])
            self.history.append(row)
        self._finetune(labels)

    def _select(self, z: np.ndarray, predictions: np.ndarray, y_true, row: dict) -> None:
        est = self.est
        sel = select_confidence_set(z, self.y, predictions, self.in_set, n_neighbors=est.n_neighbors,
                                    threshold=est.lof_threshold, quantile=est.lof_quantile,
                                    reference=est.lof_reference)
        self.lof = sel.lof
        self.in_set[sel.added] = True
        if est.sample_removal:
            self.in_set[sel.removed] = False
        row["n_added"] = int(sel.added.sum())
        row["n_removed"] = int(sel.removed.sum()) if est.sample_removal else 0
        if y_true is not None:
            correct = self.y == y_true
            row["precision_candidates"] = float(correct[sel.agrees].mean()) if sel.agrees.any() else np.nan
            row["precision_added"] = float(correct[sel.added].mean()) if sel.added.any() else np.nan

    def _correct(self, logits: np.ndarray, y_true, row: dict) -> None:
        if self.est.correction_target == "onehot":
            target = np.eye(self.n_classes, dtype=np.float32)[logits.argmax(axis=1)]
        else:
            target = torch.softmax(torch.from_numpy(logits).double(), dim=1).numpy()
        self.P, self.y, flipped = correct_labels(self.P, self.y, target, alpha=self.alpha, gamma=self.est.gamma)
        self.in_set[flipped] = False
        row["n_flipped"] = int(flipped.sum())
        if y_true is not None:
            right = int((self.y[flipped] == y_true[flipped]).sum())
            row["n_flipped_right"], row["n_flipped_wrong"] = right, int(flipped.sum()) - right

    def _epoch(self, members: np.ndarray, labels: torch.Tensor, lr: float, *, contrastive: bool,
               augment: bool) -> float:
        """One pass over G (reference-loader batches); returns the mean loss."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.model.train()
        if self.key_encoder is not None:
            self.key_encoder.train()
        positions = torch.from_numpy(members)
        index = repeated_indices(members.size, self.cfg.batch_size)
        n_passes = -(-int(self.est.min_batches_per_epoch) // (index.numel() // self.cfg.batch_size))
        batches = torch.cat([epoch_batches(index, self.cfg.batch_size, self.generator) for _ in range(n_passes)])
        total, steps = 0.0, 0
        for batch in batches:
            rows = positions.index_select(0, batch)
            total += self._step(rows, labels.index_select(0, rows.to(self.device)), contrastive, augment)
            steps += 1
        return total / max(steps, 1)

    def _step(self, rows: torch.Tensor, targets: torch.Tensor, contrastive: bool, augment: bool) -> float:
        est = self.est
        x_q = self.inputs.batch(rows, augment=augment, generator=self.generator)
        loss = self._mixup_loss(x_q, targets)
        if contrastive:
            x_k = self.inputs.batch(rows, augment=augment, generator=self.generator)
            with torch.no_grad():
                keys = F.normalize(self.key_encoder(x_k), dim=1)
            queries, _ = self.model(x_q)
            loss = loss + est.contrastive_weight * self._contrastive_loss(queries, keys, targets)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if contrastive:
            self._update_keys(keys, targets)
        return float(loss.detach())

    def _mixup_loss(self, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Eq. 5 with the standard mixed target (spec §1.5(7)); plain CE when mixup is off."""
        if self.est.mixup_alpha <= 0:
            return F.cross_entropy(self.model(x)[1], targets)
        lam = float(self.rng.beta(self.est.mixup_alpha, self.est.mixup_alpha))
        perm = torch.randperm(x.shape[0], generator=self.generator).to(x.device)
        logits = self.model(lam * x + (1.0 - lam) * x.index_select(0, perm))[1]
        return lam * F.cross_entropy(logits, targets) + (1.0 - lam) * F.cross_entropy(logits, targets[perm])

    def _contrastive_loss(self, queries: torch.Tensor, keys: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Eq. 4 in the SupCon/MoPro form with a log (spec §1.5(6)); the bank is the queue plus this batch's
        keys (all from G), positives are the bank entries with the query's label."""
        bank = torch.cat([keys, self.queue_keys[:self.queue_filled]])
        bank_labels = torch.cat([targets, self.queue_labels[:self.queue_filled]])
        log_prob = torch.log_softmax(queries @ bank.T / self.est.temperature, dim=1)
        positive = (targets[:, None] == bank_labels[None, :]).to(log_prob.dtype)
        return (-(positive * log_prob).sum(dim=1) / positive.sum(dim=1)).mean()

    @torch.no_grad()
    def _update_keys(self, keys: torch.Tensor, targets: torch.Tensor) -> None:
        mu = self.est.key_momentum
        for k_param, q_param in zip(self.key_encoder.parameters(), self.model.encoder.parameters()):
            k_param.mul_(mu).add_(q_param.detach(), alpha=1.0 - mu)
        size = self.queue_keys.shape[0]
        if size == 0:
            return
        keys, targets = keys[-size:], targets[-size:]
        slots = (self.queue_head + torch.arange(keys.shape[0])) % size
        self.queue_keys[slots.to(self.device)] = keys
        self.queue_labels[slots.to(self.device)] = targets
        self.queue_head = int((self.queue_head + keys.shape[0]) % size)
        self.queue_filled = min(size, self.queue_filled + keys.shape[0])

    def _finetune(self, labels: torch.Tensor) -> None:
        """MTaDCS+: mixup CE only on the final G, weak augmentation, constant lr."""
        members = np.flatnonzero(self.in_set)
        if not self.est.finetune_epochs or not members.size:
            return
        labels.copy_(torch.from_numpy(self.y))
        jitter = getattr(self.inputs, "jitter", None)
        if jitter is not None:
            self.inputs.jitter = 0.0
        try:
            for _ in range(self.est.finetune_epochs):
                self._epoch(members, labels, self.est.finetune_lr, contrastive=False, augment=True)
        finally:
            if jitter is not None:
                self.inputs.jitter = jitter
