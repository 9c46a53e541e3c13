"""CLI verbs for Spark: ``spark-train`` and ``export-factors``.

::

    python -m recsys_core spark-train PARQUET [--dataset SPEC] [--output DIR] [--param K=V ...]
                          [--user-col C] [--item-col C] [--weight-col C] [--keep-duplicates]
                          [--items FILE] [--data-dir DIR] [--allow-missing] [--json]
    python -m recsys_core export-factors MODEL_DIR --dataset SPEC [--ids auto|original|index]
                          [--items FILE] [--data-dir DIR] [--allow-missing] [--json]

``spark-train`` reads a parquet file or folder of interactions with Spark (never with pandas),
indexes the ids on Spark's side and trains ``spark-als``; ``--dataset`` stores the factors in the
model store aligned to that dataset (the model id is printed, and every page and verb works on
it), ``--output`` writes a Spark model folder with the id maps (for ``export-factors`` elsewhere).
``export-factors`` stores the factors of a Spark ALS model folder for a dataset; a local folder
is read with pyarrow alone (no pyspark, no Java).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import UserError
from .output import ProgressBar, echo, log, print_json


def register(subparsers: Any) -> None:
    """Add ``spark-train`` and ``export-factors`` to the CLI's subparsers."""
    train = subparsers.add_parser(
        "spark-train",
        help="train spark-als on a parquet file or folder read by Spark",
        description="Read interactions (user, item[, weight]) from parquet with Spark, index "
        "the ids on Spark's side and train spark-als; store the factors aligned to --dataset "
        "and/or write a Spark model folder to --output.",
    )
    train.add_argument("parquet", metavar="PARQUET", help="parquet file or folder (or a URI)")
    train.add_argument(
        "--dataset",
        default=None,
        metavar="SPEC",
        help="store the model for this dataset (registry name or file; ids must line up)",
    )
    train.add_argument(
        "--output",
        default=None,
        metavar="DIR",
        help="also write the Spark model and its id maps to this folder (or URI)",
    )
    train.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="K=V",
        help="a spark-als parameter (repeatable): rank, maxIter, regParam, alpha, seed, master, "
        "blocks",
    )
    train.add_argument("--user-col", default=None, help="user id column (default: by name)")
    train.add_argument("--item-col", default=None, help="item id column (default: by name)")
    train.add_argument("--weight-col", default=None, help="weight column (default: by name, or 1)")
    train.add_argument(
        "--keep-duplicates",
        action="store_true",
        help="sum identical rows instead of counting them once (the file loader's default)",
    )
    _dataset_arguments(train)
    train.add_argument("--json", action="store_true", help="print one JSON object")
    train.set_defaults(func=cmd_spark_train)

    export = subparsers.add_parser(
        "export-factors",
        help="store the factors of a Spark ALS model folder for a dataset",
        description="Read the userFactors/itemFactors of a Spark ALS model folder (pyarrow for a "
        "local folder, no Spark needed; Spark's ALSModel.load for a URI), align them to "
        "--dataset and store them as a spark-als model.",
    )
    export.add_argument("model_dir", metavar="MODEL_DIR", help="ALSModel.save folder (or a URI)")
    export.add_argument("--dataset", required=True, metavar="SPEC", help="dataset to align to")
    export.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="K=V",
        help="spark-als parameters the folder does not record (regParam, alpha: used to fold in "
        "new histories); an ALSModel folder keeps only its rank",
    )
    export.add_argument(
        "--ids",
        choices=("auto", "original", "index"),
        default="auto",
        help="what the factors' integer ids are: auto (the folder's id maps when present, else "
        "original ids), original ids, or the dataset's matrix indices",
    )
    _dataset_arguments(export)
    export.add_argument("--json", action="store_true", help="print one JSON object")
    export.set_defaults(func=cmd_export_factors)


def _dataset_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--items",
        default=None,
        metavar="FILE",
        help="item metadata side file for a --dataset that is a file (csv/tsv/parquet)",
    )
    parser.add_argument("--data-dir", default=None, help="folder already holding the raw files")
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="give dataset items without factors zero vectors instead of refusing",
    )


# ------------------------------------------------------------------------------------ verbs
def cmd_spark_train(args: argparse.Namespace) -> int:
    from ..algorithms import parse_param_args, parse_params
    from ..spark.train import train_parquet

    values = parse_params("spark-als", parse_param_args(args.param))  # fail fast
    dataset, source = _load(args) if args.dataset else (None, None)
    bar = ProgressBar("spark-als")
    result = train_parquet(
        args.parquet,
        values,
        dataset=dataset,
        output=args.output,
        user_col=args.user_col,
        item_col=args.item_col,
        weight_col=args.weight_col,
        drop_duplicates=not args.keep_duplicates,
        allow_missing=args.allow_missing,
        source=source,
        progress=bar,
    )
    bar(1.0, "done")
    payload = result.to_dict()
    if args.json:
        print_json(payload)
        return 0
    log(
        f"trained on {result.n_interactions:,} interactions ({result.n_users:,} users x "
        f"{result.n_items:,} items) in {result.fit_seconds:.1f} s"
    )
    if result.output:
        log(f"wrote the Spark model and its id maps to {result.output}")
    if result.stored is not None:
        _log_alignment(payload)
        echo(result.stored.model_id)
    return 0


def cmd_export_factors(args: argparse.Namespace) -> int:
    from ..algorithms import loader, parse_param_args
    from ..spark.imports import export_factors

    raw = parse_param_args(args.param)
    schema = {p.name: p for p in loader("spark-als").params}
    for key in raw:
        if key not in schema:
            raise UserError(f"spark-als has no parameter {key!r}; valid: {', '.join(schema)}.")
    overrides = {key: schema[key].parse(value) for key, value in raw.items()}
    dataset, source = _load(args)
    stored = export_factors(
        args.model_dir,
        dataset,
        params=overrides,
        ids=args.ids,
        allow_missing=args.allow_missing,
        source=source,
    )
    payload = stored.to_dict()
    if args.json:
        print_json(payload)
        return 0
    _log_alignment(payload)
    echo(stored.model_id)
    return 0


# ------------------------------------------------------------------------------------ helpers
def _load(args: argparse.Namespace):
    """The dataset named by ``--dataset`` (with ``--items``) and the source the store records."""
    from ..datasets import is_path_spec, load_dataset

    spec = args.dataset
    if is_path_spec(spec) and Path(spec).expanduser().exists():
        spec = str(Path(spec).expanduser().resolve())
    options: dict[str, Any] = {}
    if args.items:
        if not is_path_spec(spec):
            raise UserError(
                f"--items goes with a --dataset that is a file, not the registry dataset {spec!r}; "
                "that dataset has its own item metadata."
            )
        options["items_path"] = str(Path(args.items).expanduser().resolve())
    data_dir = str(Path(args.data_dir).expanduser().resolve()) if args.data_dir else None
    dataset = load_dataset(spec, data_dir=data_dir, progress=ProgressBar("loading"), **options)
    return dataset, {"spec": spec, "data_dir": data_dir, "options": options}


def _log_alignment(payload: dict) -> None:
    notes = []
    if payload.get("missing_users"):
        notes.append(
            f"{payload['missing_users']:,} dataset users had no factors "
            f"({payload['folded_users']:,} folded in from their history, the rest zero)"
        )
    if payload.get("missing_items"):
        notes.append(f"{payload['missing_items']:,} dataset items had no factors (zero vectors)")
    for what in ("users", "items"):
        extra = payload.get(f"extra_{what}")
        if extra:
            notes.append(f"{extra:,} {what} of the factors are not in the dataset (left out)")
    for note in notes:
        log(note)
