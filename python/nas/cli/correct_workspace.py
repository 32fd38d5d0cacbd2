"""The workspace actions of `nas correct`: import the noisy labels, queue a re-label round, take the answers
back, report and export (see nas.correction.workspace)."""
from __future__ import annotations

import argparse

from nas.cli._workspace_args import add_directory, add_features_override, parse_params

ACTIONS = ("import", "queue", "answer", "status", "export")


def add_subcommands(sub) -> None:
    p = sub.add_parser("import", help="import the noisy labels of every pool sample (CSV: index or id, label) "
                                      "and choose the method; once per workspace (made by `nas init`)")
    add_directory(p)
    p.add_argument("labels", metavar="LABELS.csv")
    p.add_argument("--method", default="alc",
                   help="alc (default), random, entropy, loss, lossent, dalc, alc_topq")
    p.add_argument("--batch-size", type=int, default=100, help="samples per re-label round (default 100)")
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="ActiveLabelCorrection option, e.g. epochs=30, propagation=local, pin_relabelled=true")
    add_features_override(p)
    p = sub.add_parser("queue", help="the samples to re-label now, written as CSV (the open round again until "
                                     "it is fully answered)")
    add_directory(p)
    p.add_argument("--out", default="relabel.csv", help="CSV to write (default relabel.csv)")
    p.add_argument("--batch-size", type=int, help="size of a new round (default: the imported setting)")
    add_features_override(p)
    p = sub.add_parser("answer", help="record the accurate annotator's labels (CSV: index or id, label); all "
                                      "or nothing")
    add_directory(p)
    p.add_argument("answers", metavar="ANSWERS.csv")
    p.add_argument("--annotator", help="who labeled the rows without an annotator column")
    add_features_override(p)
    p = sub.add_parser("status", help="rounds, answers and how many labels changed")
    add_directory(p)
    add_features_override(p)
    p = sub.add_parser("export", help="CSV of every sample's observed and current label")
    add_directory(p)
    p.add_argument("--out", default="corrected.csv")
    add_features_override(p)


def run(args: argparse.Namespace) -> int:
    from nas.correction.workspace import CorrectionWorkspace

    with CorrectionWorkspace.open(args.directory, features=getattr(args, "features", None)) as ws:
        if args.action == "import":
            n = ws.import_labels(args.labels, method=args.method, batch_size=args.batch_size,
                                 params=parse_params(args.param, "--param"))
            print(f"imported {n} labels" + ("" if n else " (already imported)") +
                  f". Next: nas correct queue {args.directory}")
        elif args.action == "queue":
            batch = ws.queue(batch_size=args.batch_size, out=args.out)
            state = "new round" if batch.new else "open round"
            print(f"{state} {batch.round}: {len(batch.pending)} of {len(batch.samples)} samples to re-label, "
                  f"written to {batch.path}")
        elif args.action == "answer":
            r = ws.answer(args.answers, annotator=args.annotator)
            print(f"recorded {r['n_new']} answers, {r['n_changed']} of them changed the label"
                  + (f" ({r['n_already_recorded']} already recorded)" if r["n_already_recorded"] else "")
                  + (f" ({r['n_unanswered']} without a label)" if r["n_unanswered"] else ""))
        elif args.action == "status":
            s = ws.status()
            print(f"method {s['settings']['method'] if s['settings'] else '-'}; {s['n_imported']} of "
                  f"{s['n_samples']} labels imported; {s['n_queued']} queued, {s['n_corrected']} answered, "
                  f"{s['n_changed']} changed")
            for row in s["rounds"]:
                print(f"  round {row['round']}: {row['answered']}/{row['queued']} answered, {row['changed']} changed")
        else:
            print(f"wrote {ws.export(args.out)}")
    return 0
