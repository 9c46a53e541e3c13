"""``project``: a 2-D map of a stored model's item (or user) vectors, as CSV."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import UserError
from .output import ProgressBar, log, print_json


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "project",
        help="a 2-D map (PCA / t-SNE / UMAP) of a model's vectors",
        description="Project a stored model's item (or user) vectors to 2-D and write a CSV "
        "(item_id, name, category, x, y); cached, so a second run is instant.",
    )
    parser.add_argument("model_id", metavar="MODEL_ID")
    parser.add_argument("--method", default="pca", help="pca, tsne or umap (default pca)")
    parser.add_argument("--users", action="store_true", help="project user vectors instead")
    parser.add_argument("--perplexity", type=float, default=30.0, help="t-SNE perplexity")
    parser.add_argument("--neighbors", type=int, default=15, help="UMAP neighbours")
    parser.add_argument("--sample", type=int, default=None, help="project a stratified sample")
    parser.add_argument("--seed", type=int, default=0, help="random_state")
    parser.add_argument("--out", default=None, help="CSV file to write (default: stdout)")
    parser.add_argument("--json", action="store_true", help="print a summary as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..projection import project_model
    from ..store import ModelStore

    model, dataset = ModelStore().open(args.model_id)
    what = "users" if args.users else "items"
    result = project_model(
        model,
        args.method,
        what=what,
        random_state=args.seed,
        perplexity=args.perplexity,
        n_neighbors=args.neighbors,
        sample=args.sample,
        model_id=args.model_id,
        progress=ProgressBar(f"{args.method} {what}"),
    )
    frame = result.to_frame()
    if what == "items":
        meta = dataset.items.iloc[frame["row"].to_numpy()]
        frame.insert(0, "item_id", meta["item_id"].to_numpy())
        frame.insert(1, "name", meta["name"].to_numpy())
        frame.insert(2, "category", meta["category"].to_numpy())
    else:
        frame.insert(0, "user_id", dataset.user_ids[frame["row"].to_numpy()])
    frame = frame.drop(columns="row")
    if result.note:
        log(result.note)
    if args.out:
        path = Path(args.out)
        try:
            frame.to_csv(path, index=False)
        except OSError as error:
            raise UserError(
                f"Cannot write {path}: {error.strerror}; choose another --out."
            ) from None
    summary = {
        "model_id": args.model_id,
        "method": result.method,
        "what": what,
        "n_points": len(frame),
        "n_total": result.n_total,
        "seconds": result.seconds,
        "cached": result.cached,
        "note": result.note,
        "out": args.out,
    }
    if args.json:
        print_json(summary)
    elif not args.out:
        frame.to_csv(sys.stdout, index=False)
    else:
        log(f"wrote {len(frame):,} points to {args.out}")
    return 0
