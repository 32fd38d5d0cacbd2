"""`nas status`: a summary of a workspace built from its database alone (no features are read)."""
from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional

from .store import Store


@dataclass(frozen=True)
class RoundSummary:
    round: int
    size: int
    answered: int
    created_at: float
    coverage: Optional[float]


@dataclass(frozen=True)
class Status:
    """Everything `nas status` prints; ``to_dict()`` gives the same as JSON-ready values."""

    directory: str
    features: str
    n_samples: int
    n_features: int
    strategy: str
    filter: str
    seed: int
    batch_size: Optional[int]
    classes: List[str]
    rounds: List[RoundSummary]
    n_labels: int
    labels_per_class: Dict[str, int]
    annotators: Dict[str, int]
    open_round: Optional[int]
    pending: int
    predicted_noise_rate: Optional[float]
    noise_rate_labeled: Optional[int]
    coverage: Optional[float]
    stage_seconds: Dict[str, float] = field(default_factory=dict)
    answer_files: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    def to_text(self) -> str:
        lines = [f"workspace   {self.directory}",
                 f"pool        {self.features} ({self.n_samples} x {self.n_features})",
                 f"selection   strategy {self.strategy}, filter {self.filter}, seed {self.seed}, batch size "
                 f"{self.batch_size if self.batch_size is not None else f'{len(self.classes)} (number of classes)'}",
                 f"rounds      {len(self.rounds)}"
                 + (f"; round {self.open_round} open ({self.pending} unanswered)" if self.open_round else
                    ("; all answered" if self.rounds else "; run `nas query` for the first batch")),
                 f"labels      {self.n_labels} from {self.answer_files} answer file(s)"
                 + (f"; per class: " + ", ".join(f"{k} {v}" for k, v in self.labels_per_class.items() if v)
                    if self.n_labels else "")]
        if self.predicted_noise_rate is not None:
            lines.append(f"noise       predicted noise rate {self.predicted_noise_rate:.3f} "
                         f"(filter {self.filter} on {self.noise_rate_labeled} labels)")
        else:
            lines.append("noise       no filter result yet")
        if self.coverage is not None:
            lines.append(f"coverage    {self.coverage:.3f} of the pool within delta of a predicted-clean label "
                         "(at the last query)")
        if self.rounds:
            lines.append("round  size  answered  coverage  queried at")
            for r in self.rounds:
                when = datetime.datetime.fromtimestamp(r.created_at).strftime("%Y-%m-%d %H:%M:%S")
                cov = "" if r.coverage is None else f"{r.coverage:.3f}"
                lines.append(f"{r.round:>5}  {r.size:>4}  {r.answered:>8}  {cov:>8}  {when}")
        if self.stage_seconds:
            lines.append("time per stage (seconds, all rounds)")
            width = max(len(k) for k in self.stage_seconds)
            lines.extend(f"  {stage:<{width}}  {seconds:10.3f}" for stage, seconds in self.stage_seconds.items())
        return "\n".join(lines)


def build_status(store: Store) -> Status:
    pool = store.pool()
    config = store.config()
    classes = store.classes()
    queries = store.queries()
    coverage_of = store.query_coverage()
    rounds = [RoundSummary(round=q.round, size=len(q.samples), answered=len(q.answered), created_at=q.created_at,
                           coverage=coverage_of.get(q.round)) for q in queries]
    labels = store.labels()
    per_class = Counter(classes[label] for label, _, _ in labels.values())
    annotators = Counter(who or "(unnamed)" for _, who, _ in labels.values())
    open_query = next((q for q in queries if q.is_open), None)
    history = store.filter_history()
    latest_rate = next(((n, rate) for _, _, n, rate in reversed(history) if rate is not None), None)
    coverage = next((r.coverage for r in reversed(rounds) if r.coverage is not None), None)
    stages = {stage: total for stage, (_, total) in store.stage_seconds().items()}
    n_files, ingest_seconds = store.ingest_summary()
    if queries:
        stages["query (wall, all stages)"] = store.query_seconds()
    if n_files:
        stages["ingest answers"] = ingest_seconds
    return Status(directory=str(store.directory), features=pool.path, n_samples=pool.n_samples,
                  n_features=pool.n_features, strategy=config.strategy, filter=config.filter, seed=config.seed,
                  batch_size=config.batch_size, classes=classes, rounds=rounds, n_labels=len(labels),
                  labels_per_class={name: per_class.get(name, 0) for name in classes},
                  annotators=dict(annotators), open_round=None if open_query is None else open_query.round,
                  pending=0 if open_query is None else len(open_query.pending),
                  predicted_noise_rate=None if latest_rate is None else latest_rate[1],
                  noise_rate_labeled=None if latest_rate is None else latest_rate[0], coverage=coverage,
                  stage_seconds=stages, answer_files=n_files)
