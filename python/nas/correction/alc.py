"""Active label correction (seed 003): which already-labeled samples to send back to an accurate annotator.

Every sample carries a possibly wrong label. Each round retrains a linear classifier on the current labels,
with robust per-sample weights (Eqs. 2-4) for the paper's method, then picks a batch to re-label. The paper's
method ("alc") picks among the down-weighted samples (low alpha: probably mislabeled) the one of highest
entropy, pins its entropy to 0 and diffuses it over the kNN graph (Eq. 8) so the next pick lands elsewhere.
Baselines: "random", "entropy" (top-Q entropy, Rebbapragada et al.), "loss" (top-Q loss: CorrActive),
"lossent" (top-Q loss + entropy, after Bernhardt et al.), "dalc" (top-Q entropy of a classifier trained with a
forward-corrected loss under an estimated noise model, after Li et al.'s dual active label correction), and the
ablation "alc_topq" (alc's weights and candidate set, top-Q entropy instead of propagation).
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import numpy as np
from scipy.special import log_softmax
from tqdm.auto import tqdm

import nas_ext
from nas_ext._validation import check_choice, check_features, check_float, check_int, param_error

from ..training import LinearProbe
from ..training._sgd import check_labels
from .propagation import CLAMP_MODES, PROPAGATION_MODES, EntropyPropagation, batch_redundancy
from .transition import anchor_transition, count_transition, realised_transition, transition_error
from .weights import SCALES, RobustWeights

__all__ = ["ActiveLabelCorrection", "CorrectionResult", "METHODS", "entropy_of"]

logger = logging.getLogger(__name__)

#: method -> (robust weights, selection rule, forward-corrected loss under an estimated noise model)
METHODS: Dict[str, tuple] = {"alc": (True, "propagation", False), "alc_topq": (True, "candidate_entropy", False),
                             "dalc": (False, "entropy", True), "entropy": (False, "entropy", False),
                             "loss": (False, "loss", False), "lossent": (False, "lossent", False),
                             "random": (False, "random", False)}


def entropy_of(logits: np.ndarray) -> np.ndarray:
    """Shannon entropy (natural log) of softmax(logits) per row, float64 (n,)."""
    logp = log_softmax(np.asarray(logits, dtype=np.float64), axis=1)
    return -(np.exp(logp) * logp).sum(axis=1)


@dataclass
class CorrectionResult:
    """What ``ActiveLabelCorrection.run`` returns.

    labels : int64 (n,) — the labels after correction; relabelled : bool (n,) — the samples sent back;
    order : int64 (n_queried,) — the queries in order; alpha : float64 (n,) — the last round's weights
    (1/n everywhere for the non-robust methods); history : one dict per round, round 0 being before any
    query: ``round``, ``n_queried`` (cumulative), ``n_fixed`` (answers that changed the label), ``fix_rate``,
    ``hit_rate`` (queries whose *original* label was wrong; needs ``y_true``), ``accuracy`` (test, %),
    ``redundancy`` (batch members with a graph neighbour in the batch), ``weight_auroc`` (AUROC of -alpha
    for the original labels being wrong, robust methods, round 0), ``transition_error`` (DALC: mean row
    total-variation distance of the round's T from the noise actually drawn; needs ``y_true``),
    ``time_train``, ``time_select`` (s). transition : the last round's T (C, C) for 'dalc', else None.
    """

    labels: np.ndarray
    relabelled: np.ndarray
    order: np.ndarray
    alpha: np.ndarray
    history: List[dict] = field(default_factory=list)
    transition: Optional[np.ndarray] = None


class ActiveLabelCorrection:
    """Active label correction with robust weights and entropy propagation (seed 003, Algorithm 1).

    Parameters (keyword-only; defaults are the paper's, spec 2.2)
    ----------
    method : one of METHODS ('alc' = the paper's; 'random', 'entropy', 'loss', 'lossent', 'dalc', 'alc_topq').
    batch_size : Q, labels per round (1000).
    n_neighbors : k of the kNN graph (10). step, n_steps : delta_L (0.1) and T_L (10) of Eq. 8.
    weight_rate : delta_a of Eq. 3 (0.1). loss_scale : 'pairwise' or 'mean' (sigma_a, spec 2.4(4)).
    candidate_size : None (the alpha < 1/n members of U, or U when there are none: spec 2.4(1)), an int k (the
        k lowest-alpha members of U) or a float in (0, 1] (that fraction of U).
    propagation : 'global' (the paper's loop) or 'local' (the pin's exact effect only; see
        ``nas.correction.propagation``). clamp : 'pick' or 'batch'. zero_relabelled : set e = 0 on the samples
        already re-labelled before each round's propagation.
    pin_relabelled : after every epoch's weight update, set alpha_j = max(alpha) for the re-labelled samples
        (their labels are the oracle's) and renormalise (spec 2.4(5)); robust methods only. Default False: the
        paper treats them like the others.
    anchor_percentile, transition_smoothing : DALC's noise model (see below); 97 and 1.
    epochs, lr, momentum, weight_decay, lr_step, train_batch_size : the classifier recipe: a linear softmax
        layer on the fixed features (``nas.training.LinearProbe``), 30 epochs, SGD lr 0.01, momentum 0.9,
        weight decay 1e-4, lr x 0.1 every 10 epochs, batches of 100; re-initialised every round.
    random_state : None or int; the classifier of round r uses the same seed for every method (paired runs).
    progress : tqdm bar over the picks.

    DALC (Li et al. 2022, as the paper describes it: lines 183-205 and footnote 3). It selects like 'entropy'
    (top-Q entropy of h) but trains h with the forward-corrected loss l(Tᵀ softmax(h(x)), y) (Eq. 10) on the
    *uncertain* examples. The paper leaves open how T is estimated and which examples are uncertain; here:
    - round 0 (no answers yet): T from the whole noisy set D by anchor points (Patrini et al. 2017): a plain
      classifier is trained on D with round 0's seed, and row i of T is its predicted distribution at the
      sample of highest p(i|x) below the ``anchor_percentile``-th percentile (100: the argmax);
    - later rounds: T from S^t, the re-labelled samples, whose observed and true labels are both known:
      per true class the counts of observed labels plus ``transition_smoothing``·C pseudo-counts shared out as
      the round-0 row, row-normalised (``nas.correction.transition.count_transition``): a class with few
      answers keeps close to the round-0 estimate, one with many follows its counts. (Footnote 3 reports
      DALC's accuracy dropping in round 2 because S^t is small then; the smoothing damps, not removes, this.
      S^t is also a biased sample, the highest-entropy ones, so its T can overstate the noise.)
    - uncertain = not re-labelled yet: their labels are the noisy source's, so they get the corrected loss;
      the re-labelled samples carry oracle labels and get the plain cross-entropy. (The paper's "uncertain
      examples identified during training" names no rule; this is the one that follows from the setting.)
    The round's T is ``transition_``. Cost: one extra plain training in the first round (the anchors).

    Cost per round: E epochs of SGD plus E forward passes over n (O(E·n·d·C)), then for 'alc' one diffusion
    per pick (O(Q·T_L·nnz), see EntropyPropagation), for the top-Q rules an O(n log n) sort. The kNN graph is
    built once in ``fit`` (O(n²·d), tiled) unless passed in.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.repeat(np.eye(3, 8), 40, axis=0).astype(np.float32) + 0.05 * rng.standard_normal((120, 8)).astype(np.float32)
    >>> truth = np.repeat(np.arange(3), 40); noisy = truth.copy(); noisy[::10] = (noisy[::10] + 1) % 3
    >>> alc = ActiveLabelCorrection(batch_size=6, lr=0.1, train_batch_size=10, random_state=0).fit(X, noisy)
    >>> result = alc.run(lambda idx: truth[idx], budget=12, y_true=truth)   # two rounds of 6 queries
    >>> len(result.history), len(set(result.order.tolist())), int(result.relabelled.sum())
    (3, 12, 12)
    >>> bool(result.alpha[noisy != truth].mean() < result.alpha[noisy == truth].mean())  # wrong labels weigh less
    True
    """

    def __init__(self, *, method: str = "alc", batch_size: int = 1000, n_neighbors: int = 10, step: float = 0.1,
                 n_steps: int = 10, weight_rate: float = 0.1, loss_scale: str = "pairwise", candidate_size=None,
                 propagation: str = "global", clamp: str = "pick", zero_relabelled: bool = False,
                 pin_relabelled: bool = False, anchor_percentile: float = 97.0, transition_smoothing: float = 1.0,
                 epochs: int = 30, lr: float = 0.01, momentum: float = 0.9, weight_decay: float = 1e-4,
                 lr_step: Optional[int] = 10, train_batch_size: int = 100, random_state=None,
                 progress: bool = False):
        owner = "ActiveLabelCorrection"
        self.method = check_choice(method, owner, "method", tuple(METHODS))
        self.batch_size = check_int(batch_size, owner, "batch_size", low=1)
        self.n_neighbors = check_int(n_neighbors, owner, "n_neighbors", low=1)
        self.step = check_float(step, owner, "step", low=0.0, high=1.0, low_open=True)
        self.n_steps = check_int(n_steps, owner, "n_steps", low=0)
        self.weight_rate = check_float(weight_rate, owner, "weight_rate", low=0.0, high=1.0)
        self.loss_scale = check_choice(loss_scale, owner, "loss_scale", SCALES)
        if candidate_size is not None and not (isinstance(candidate_size, (int, np.integer)) and candidate_size >= 1
                                               and not isinstance(candidate_size, bool)) \
                and not (isinstance(candidate_size, float) and 0.0 < candidate_size <= 1.0):
            raise param_error(owner, "candidate_size", "None, an int >= 1 or a float in (0, 1]", candidate_size)
        self.candidate_size = candidate_size
        self.propagation = check_choice(propagation, owner, "propagation", PROPAGATION_MODES)
        self.clamp = check_choice(clamp, owner, "clamp", CLAMP_MODES)
        self.zero_relabelled = bool(zero_relabelled)
        if not isinstance(pin_relabelled, (bool, np.bool_)):
            raise param_error(owner, "pin_relabelled", "a bool", pin_relabelled, exc=TypeError)
        self.pin_relabelled = bool(pin_relabelled)
        self.anchor_percentile = check_float(anchor_percentile, owner, "anchor_percentile", low=0.0, high=100.0,
                                             low_open=True)
        self.transition_smoothing = check_float(transition_smoothing, owner, "transition_smoothing", low=0.0)
        self.epochs, self.lr, self.momentum, self.weight_decay = epochs, lr, momentum, weight_decay
        self.lr_step, self.train_batch_size = lr_step, train_batch_size
        if random_state is not None and not isinstance(random_state, (int, np.integer)):
            raise param_error(owner, "random_state", "None or an int", random_state, exc=TypeError)
        self.random_state = random_state
        self.progress = bool(progress)

    # ---- setup -------------------------------------------------------------------------------------------
    def fit(self, X, y, *, n_classes: Optional[int] = None, graph=None, relabelled=None,
            start_round: int = 0, observed=None) -> "ActiveLabelCorrection":
        """Take the pool: features ``X`` (n, d) (fixed embeddings; NaN/inf are an error) and its observed labels
        ``y`` (n,) in [0, n_classes). Builds the kNN graph (for 'alc', or uses ``graph``) and trains round
        ``start_round``. To resume (a workspace), pass the current labels as ``y``, the samples already
        re-labelled as ``relabelled`` (bool (n,)), the number of rounds done as ``start_round`` and, for
        'dalc', the originally observed labels as ``observed`` (n,) (equal to ``y`` off ``relabelled``): the
        selection is then the one an uninterrupted ``run`` would make with the same labels."""
        owner = "ActiveLabelCorrection.fit"
        self.X_ = check_features(X, owner, "X", min_rows=2)
        self.y_, self.n_classes_ = check_labels(y, self.X_.shape[0], n_classes, owner)
        self.y_ = self.y_.copy()
        n = self.X_.shape[0]
        if self.n_neighbors > n - 1:
            raise param_error("ActiveLabelCorrection", "n_neighbors", f"an int in [1, n_samples - 1 = {n - 1}]",
                              self.n_neighbors)
        self.relabelled_ = np.zeros(n, dtype=bool)
        if relabelled is not None:
            mask = np.asarray(relabelled)
            if mask.dtype != bool or mask.shape != (n,):
                raise param_error(owner, "relabelled", f"a boolean mask of shape ({n},)", mask)
            self.relabelled_ = mask.copy()
        self.y_observed_ = self.y_.copy()
        if observed is not None:
            self.y_observed_, _ = check_labels(observed, n, self.n_classes_, owner)
            if (self.y_observed_ != self.y_)[~self.relabelled_].any():
                raise param_error(owner, "observed", "equal to y on the samples not re-labelled",
                                  "a sample outside 'relabelled' whose observed label differs from y", describe=False)
        self.order_: List[int] = []
        self.round_ = check_int(start_round, owner, "start_round", low=0)
        self._seed = int(np.random.SeedSequence(self.random_state).generate_state(1)[0]) \
            if self.random_state is None else int(self.random_state)
        self.graph_ = graph
        if graph is None and METHODS[self.method][1] == "propagation":
            self.graph_ = nas_ext.knn_graph(self.X_, self.n_neighbors)
        if self.graph_ is not None and self.graph_.n != n:
            raise param_error(owner, "graph", f"a graph over the {n} samples of X", f"a graph of {self.graph_.n} nodes",
                              describe=False)
        self._propagator = None
        self._anchor_transition = None
        self.train_round()
        return self

    def _check_fitted(self, function: str) -> None:
        if not hasattr(self, "X_"):
            raise RuntimeError(f"ActiveLabelCorrection.{function} needs fit(X, y) first.")

    # ---- one round -----------------------------------------------------------------------------------
    def train_round(self) -> "ActiveLabelCorrection":
        """Re-initialise and train the classifier on the current labels (robustly for 'alc'/'alc_topq', with the
        forward-corrected loss for 'dalc'), then store ``alpha_`` (n,), ``losses_`` (n,, cross-entropy of h vs
        the current labels), ``entropy_`` (n,), ``probe_`` and ``transition_`` (DALC's T, else None)."""
        self._check_fitted("train_round")
        start = time.perf_counter()
        n = self.X_.shape[0]
        probe = self._new_probe(self.round_)
        self.transition_ = None
        if METHODS[self.method][0]:
            weights = RobustWeights(n, rate=self.weight_rate, scale=self.loss_scale,
                                    pinned=self.relabelled_ if self.pin_relabelled else None)
            probe.fit(self.X_, self.y_, n_classes=self.n_classes_, sample_weight=weights.initial(),
                      epoch_callback=weights)
            self.alpha_ = weights.alpha
        elif METHODS[self.method][2]:
            self.transition_ = self._noise_model()
            probe.fit(self.X_, self.y_, n_classes=self.n_classes_, transition=self.transition_,
                      transition_mask=~self.relabelled_)
            self.alpha_ = np.full(n, 1.0 / n)
        else:
            probe.fit(self.X_, self.y_, n_classes=self.n_classes_)
            self.alpha_ = np.full(n, 1.0 / n)
        logits = probe.decision_function(self.X_).astype(np.float64)
        logp = log_softmax(logits, axis=1)
        self.losses_ = -logp[np.arange(n), self.y_]
        self.entropy_ = -(np.exp(logp) * logp).sum(axis=1)
        self.probe_ = probe
        self.time_train_ = time.perf_counter() - start
        return self

    def _new_probe(self, round_: int) -> LinearProbe:
        """The round's untrained classifier; its seed depends only on the run's seed and the round."""
        seed = int(np.random.SeedSequence([self._seed, round_]).generate_state(1)[0])
        return LinearProbe(epochs=self.epochs, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay,
                           batch_size=self.train_batch_size, nesterov=False, lr_step=self.lr_step,
                           random_state=seed)

    def _noise_model(self) -> np.ndarray:
        """DALC's T for this round: the round-0 anchor estimate while nothing is re-labelled, then the smoothed
        counts of the re-labelled samples' (true, observed) pairs (see the class docstring)."""
        if self._anchor_transition is None:
            plain = self._new_probe(0).fit(self.X_, self.y_observed_, n_classes=self.n_classes_)
            probabilities = np.exp(log_softmax(plain.decision_function(self.X_).astype(np.float64), axis=1))
            self._anchor_transition = anchor_transition(probabilities, percentile=self.anchor_percentile)
        if not self.relabelled_.any():
            return self._anchor_transition
        return count_transition(self.y_observed_[self.relabelled_], self.y_[self.relabelled_], self.n_classes_,
                                prior=self._anchor_transition, smoothing=self.transition_smoothing)

    def _candidate_count(self, pool: np.ndarray) -> int:
        size = pool.size
        if self.candidate_size is None:
            below = int(np.count_nonzero(self.alpha_[pool] < 1.0 / self.X_.shape[0]))
            return below if below > 0 else size
        if isinstance(self.candidate_size, float):
            return max(1, min(size, math.ceil(self.candidate_size * size)))
        return min(size, int(self.candidate_size))

    def select(self, n: Optional[int] = None) -> np.ndarray:
        """The next batch to re-label: ``n`` (default ``batch_size``, capped by the pool) distinct indices of
        samples not re-labelled yet, in pick order. Uses the model of the last ``train_round``."""
        self._check_fitted("select")
        pool = np.flatnonzero(~self.relabelled_)
        n = min(self.batch_size, pool.size) if n is None else n
        n = check_int(n, "ActiveLabelCorrection.select", "n", low=0, high=pool.size)
        start = time.perf_counter()
        rule = METHODS[self.method][1]
        if rule == "random":
            rng = np.random.default_rng(np.random.SeedSequence([self._seed, self.round_, 1]))
            picks = rng.choice(pool, size=n, replace=False).astype(np.int64)
        elif rule in ("entropy", "loss", "lossent"):
            score = {"entropy": self.entropy_, "loss": self.losses_,
                     "lossent": self.losses_ + self.entropy_}[rule][pool]
            picks = pool[np.argsort(-score, kind="stable")[:n]]
        else:
            order = pool[np.argsort(self.alpha_[pool], kind="stable")]     # lowest alpha first (p_S ranking)
            size = self._candidate_count(pool)
            if rule == "candidate_entropy":
                cand = np.sort(order[:size])
                picks = cand[np.argsort(-self.entropy_[cand], kind="stable")[:n]]
                if picks.size < n:                                   # C smaller than the batch: next by alpha
                    picks = np.concatenate([picks, order[size:size + n - picks.size]])
            else:
                picks = self._propagate(order, size, n)
        self.time_select_ = time.perf_counter() - start
        return picks.astype(np.int64)

    def _propagate(self, order: np.ndarray, size: int, n: int) -> np.ndarray:
        if self._propagator is None:
            self._propagator = EntropyPropagation(self.graph_, step=self.step, n_steps=self.n_steps,
                                                  mode=self.propagation, clamp=self.clamp)
        e = self.entropy_.copy()
        if self.zero_relabelled:
            e[self.relabelled_] = 0.0
        with tqdm(total=n, desc=f"ALC round {self.round_ + 1}", unit="pick", disable=not self.progress,
                  leave=False) as bar:
            picks, self.field_ = self._propagator.select(e, n, order=order, candidate_size=size, progress=bar)
        return picks

    def update(self, indices, labels, *, retrain: bool = True) -> "ActiveLabelCorrection":
        """Record the annotator's answers for ``indices`` (distinct, not re-labelled before) and, with
        ``retrain``, start the next round (train_round)."""
        self._check_fitted("update")
        owner = "ActiveLabelCorrection.update"
        idx = np.asarray(indices)
        n = self.X_.shape[0]
        if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
            raise param_error(owner, "indices", "a 1-D array of sample indices", idx, exc=TypeError)
        idx = idx.astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise param_error(owner, "indices", f"indices in [0, {n})", idx)
        if np.unique(idx).size != idx.size or self.relabelled_[idx].any():
            raise param_error(owner, "indices", "distinct samples not re-labelled before", idx)
        answers, _ = check_labels(labels, idx.size, self.n_classes_, owner)
        self.y_[idx] = answers
        self.relabelled_[idx] = True
        self.order_.extend(idx.tolist())
        self.round_ += 1
        if retrain:
            self.train_round()
        return self

    # ---- the whole loop --------------------------------------------------------------------------------
    def run(self, oracle: Callable[[np.ndarray], np.ndarray], budget: int, *, X_test=None, y_test=None,
            y_true=None, graph_for_metrics=None) -> CorrectionResult:
        """Rounds of select -> oracle -> update until ``budget`` (G) labels were re-queried.

        oracle(indices) -> labels (the accurate annotator). ``X_test``/``y_test`` give each round's test
        accuracy; ``y_true`` (n,) the hit rate (Table 1) and the weights' AUROC; the redundancy of a batch
        uses this object's graph or ``graph_for_metrics``.
        """
        self._check_fitted("run")
        n = self.X_.shape[0]
        budget = check_int(budget, "ActiveLabelCorrection.run", "budget", low=1, high=int((~self.relabelled_).sum()))
        if y_true is not None:
            y_true, _ = check_labels(y_true, n, self.n_classes_, "ActiveLabelCorrection.run")
        if (X_test is None) != (y_test is None):
            raise ValueError("ActiveLabelCorrection.run needs both X_test and y_test, or neither.")
        graph = graph_for_metrics if graph_for_metrics is not None else self.graph_
        history = [self._record(0, np.empty(0, np.int64), None, X_test, y_test, y_true, graph)]
        while self.relabelled_.sum() < budget:
            picks = self.select(min(self.batch_size, budget - int(self.relabelled_.sum())))
            answers = np.asarray(oracle(picks))
            before = self.y_[picks].copy()
            self.update(picks, answers)
            history.append(self._record(self.round_, picks, before, X_test, y_test, y_true, graph))
            row = history[-1]
            logger.info("%s round %d: %d queried, %d labels changed, redundancy %.2f, accuracy %.2f, "
                        "selection %.2fs", self.method, row["round"], row["batch"], row["n_fixed"],
                        row["redundancy"], row["accuracy"], row["time_select"])
        return CorrectionResult(labels=self.y_.copy(), relabelled=self.relabelled_.copy(),
                                order=np.asarray(self.order_, dtype=np.int64), alpha=self.alpha_.copy(),
                                history=history,
                                transition=None if self.transition_ is None else self.transition_.copy())

    def _record(self, round_: int, picks, before, X_test, y_test, y_true, graph) -> dict:
        row = {"round": round_, "n_queried": int(self.relabelled_.sum()), "batch": int(picks.size),
               "time_train": self.time_train_, "time_select": getattr(self, "time_select_", 0.0) if picks.size else 0.0}
        nan = math.nan
        row["n_fixed"] = int(np.count_nonzero(self.y_[picks] != before)) if before is not None else 0
        row["fix_rate"] = row["n_fixed"] / picks.size if picks.size else nan
        row["hit_rate"] = float(np.mean(self.y_observed_[picks] != y_true[picks])) \
            if (y_true is not None and picks.size) else nan
        row["n_wrong_left"] = int(np.count_nonzero(self.y_ != y_true)) if y_true is not None else nan
        row["accuracy"] = self.probe_.score(X_test, y_test) if X_test is not None else nan
        row["redundancy"] = batch_redundancy(graph, picks) if (graph is not None and picks.size) else nan
        row["weight_auroc"] = nan
        row["transition_error"] = nan
        if self.transition_ is not None and y_true is not None:
            truth = realised_transition(self.y_observed_, y_true, self.n_classes_)
            row["transition_error"] = transition_error(self.transition_, truth)
        if round_ == 0 and y_true is not None and METHODS[self.method][0]:
            from sklearn.metrics import roc_auc_score

            wrong = self.y_observed_ != y_true
            if 0 < wrong.sum() < wrong.size:
                row["weight_auroc"] = float(roc_auc_score(wrong, -self.alpha_))
        return row
