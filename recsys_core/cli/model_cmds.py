"""CLI verbs over trained models: ``train``, ``models``, ``similar``, ``recommend``.

::

    python -m recsys_core train DATASET ALGO [--param K=V ...] [--preset NAME] [--items FILE]
                                [--data-dir DIR] [--force] [--json]
    python -m recsys_core models [--dataset D] [--json]
    python -m recsys_core similar MODEL_ID ITEM_ID [-k 10] [RERANK] [--json]
    python -m recsys_core recommend MODEL_ID USER_ID [-k 10] [--include-seen] [RERANK] [--json]

    RERANK: [--rerank "popularity=0.5,diversity=0.3"] [--exclude-category NAME ...]
            [--only-category NAME ...]

``similar`` and ``recommend`` print ``{"items": [{"item_id", "name", "category", "score"},
...]}`` with ``--json`` (``category`` null for an item without one; ``"rerank"``: the settings,
when given), a table otherwise. They reload the model's dataset from what its meta records (a
registry name, or the absolute path of a file, with the ``--items`` file it was trained with)
and refuse if its fingerprint changed. A re-ranking (``recsys_core.rerank``) keeps the model's
scores but changes the order; filters still return k items when k allowed items are left.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from .data_cmds import add_items_argument, dataset_source, load_source
from .output import ProgressBar, echo, log, print_json


def register(subparsers: Any) -> None:
    """Add the model verbs to the CLI's subparsers."""
    train = subparsers.add_parser(
        "train",
        help="train a model and store it; prints the model id",
        description="Train ALGO on DATASET and store it; the same data, algorithm and "
        "parameters give the same model id, and a stored model is reused unless --force.",
    )
    train.add_argument("dataset", metavar="DATASET", help="registry name or csv/tsv/parquet path")
    train.add_argument("algorithm", metavar="ALGO", help="algorithm registry key, e.g. als")
    train.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="K=V",
        help="a parameter value (repeatable); see the algorithm's schema",
    )
    train.add_argument("--preset", default=None, help="a named preset of the algorithm")
    add_items_argument(train)
    train.add_argument("--data-dir", default=None, help="folder already holding the raw files")
    train.add_argument("--force", action="store_true", help="train again even if stored")
    train.add_argument("--json", action="store_true", help="print one JSON object")
    train.set_defaults(func=cmd_train)

    models = subparsers.add_parser("models", help="list stored models, newest first")
    models.add_argument("--dataset", default=None, help="only models of this dataset")
    models.add_argument("--json", action="store_true", help="print one JSON object")
    models.set_defaults(func=cmd_models)

    similar = subparsers.add_parser("similar", help="items most similar to an item")
    similar.add_argument("model_id", metavar="MODEL_ID")
    similar.add_argument("item_id", metavar="ITEM_ID")
    similar.add_argument("-k", type=int, default=10, help="how many items (default 10)")
    add_rerank_arguments(similar)
    similar.add_argument("--json", action="store_true", help="print one JSON object")
    similar.set_defaults(func=cmd_similar)

    recommend = subparsers.add_parser("recommend", help="top items for a user")
    recommend.add_argument("model_id", metavar="MODEL_ID")
    recommend.add_argument("user_id", metavar="USER_ID")
    recommend.add_argument("-k", type=int, default=10, help="how many items (default 10)")
    recommend.add_argument(
        "--include-seen", action="store_true", help="let items the user already has compete"
    )
    add_rerank_arguments(recommend)
    recommend.add_argument("--json", action="store_true", help="print one JSON object")
    recommend.set_defaults(func=cmd_recommend)


def add_rerank_arguments(parser: argparse.ArgumentParser) -> None:
    """``--rerank``, ``--exclude-category`` and ``--only-category`` (recommend, similar,
    evaluate)."""
    parser.add_argument(
        "--rerank",
        default=None,
        metavar="SETTINGS",
        help="re-rank the lists, e.g. 'popularity=0.5,diversity=0.3,calibration=0.2' (dials "
        "from 0 to 1; also exclude_category=, only_category=, exclude_tag=, only_tag=, "
        "exclude_item= with names separated by |, min_popularity=, max_popularity=)",
    )
    parser.add_argument(
        "--exclude-category",
        action="append",
        default=[],
        metavar="NAME",
        help="never show items of this category (repeatable)",
    )
    parser.add_argument(
        "--only-category",
        action="append",
        default=[],
        metavar="NAME",
        help="show only items of this category (repeatable)",
    )


def rerank_settings(args: argparse.Namespace):
    """The re-ranking the arguments ask for (checked for syntax and ranges, not yet against a
    dataset): a RerankSettings, identity when none is given."""
    from ..rerank import parse_rerank

    return parse_rerank(
        args.rerank,
        exclude_categories=args.exclude_category,
        only_categories=args.only_category,
    )


# ------------------------------------------------------------------------------------ verbs
def _is_parquet_input(spec: str) -> bool:
    """A parquet file or folder (or a URI Spark reads): spark-als reads it with Spark."""
    path = Path(spec).expanduser()
    return "://" in spec or path.is_dir() or path.suffix.lower() in {".parquet", ".pq"}


def _train_parquet_with_spark(args: argparse.Namespace) -> int:
    """``train PARQUET spark-als``: Spark reads the file or folder and indexes the ids on its
    side; the factors and id maps are written under RECSYS_HOME/spark/<name>, and a single file
    (small enough to browse) is also stored as an ordinary model aligned to its own ids."""
    from .. import config
    from .spark_cmds import cmd_spark_train

    path = Path(args.dataset).expanduser()
    single_file = "://" not in args.dataset and path.is_file()
    spark_args = argparse.Namespace(
        parquet=args.dataset,
        dataset=str(path.resolve()) if single_file else None,
        output=str(config.subdir("spark", path.stem or "model")),
        param=args.param,
        user_col=None,
        item_col=None,
        weight_col=None,
        keep_duplicates=False,
        items=args.items,
        data_dir=args.data_dir,
        allow_missing=False,
        json=args.json,
    )
    return cmd_spark_train(spark_args)


def cmd_train(args: argparse.Namespace) -> int:
    from ..algorithms import parse_param_args, parse_params
    from ..training import train

    raw = parse_param_args(args.param)
    values = parse_params(args.algorithm, raw, args.preset)  # fail fast, before loading data
    if args.algorithm == "spark-als" and _is_parquet_input(args.dataset):
        return _train_parquet_with_spark(args)
    source = dataset_source(args.dataset, items=args.items, data_dir=args.data_dir)
    dataset = load_source(source)
    bar = ProgressBar(f"training {args.algorithm}")  # adapters report epochs through it
    result = train(
        dataset,
        args.algorithm,
        values,
        force=args.force,
        source=source,
        progress=bar,
    )
    bar(1.0, "done")
    if args.json:
        print_json(
            {
                "model_id": result.model_id,
                "fit_seconds": result.fit_seconds,
                "reused": result.reused,
            }
        )
    else:
        if result.reused:
            log(f"reused the stored model (trained in {_seconds(result.fit_seconds)})")
        else:
            log(f"trained in {_seconds(result.fit_seconds)}")
        echo(result.model_id)
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from ..store import ModelStore

    store = ModelStore()
    entries = store.list()
    if args.dataset:
        wanted = args.dataset
        entries = [e for e in entries if _matches_dataset(e.meta or {}, wanted)]
    if args.json:
        print_json({"models": [entry.to_dict() for entry in entries]})
        return 0
    if not entries:
        where = f" for dataset {args.dataset}" if args.dataset else ""
        log(
            f"no stored models{where} in {store.root}; train one with "
            "`python -m recsys_core train demo als`."
        )
        return 0
    rows = []
    for entry in entries:
        meta = entry.meta or {}
        params = meta.get("params") or {}
        rows.append(
            [
                entry.model_id,
                str(meta.get("algorithm") or "?"),
                str(meta.get("dataset_label") or meta.get("dataset") or "?"),
                str(meta.get("created") or "")[:19].replace("T", " "),
                _seconds(meta.get("fit_seconds")) if entry.ok else "",
                "DAMAGED: " + entry.damaged if entry.damaged else _short_params(params),
            ]
        )
    _table(["model id", "algorithm", "dataset", "created (UTC)", "fit", "parameters"], rows)
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    _check_k(args.k)
    settings = rerank_settings(args)  # a mistake fails before the model is loaded
    model, dataset = _open(args.model_id)
    item = dataset.item_index(args.item_id)
    reranker = _reranker(settings, model, dataset)
    query = reranker.similar_items if reranker else model.similar_items
    indices, scores = _capability(model, "similar items", lambda: query(item, args.k))
    title = f"items similar to {dataset.item_name(item)!r} (id {dataset.item_id(item)})"
    return _print_items(args, dataset, indices, scores, _titled(title, reranker), reranker)


def cmd_recommend(args: argparse.Namespace) -> int:
    _check_k(args.k)
    settings = rerank_settings(args)
    model, dataset = _open(args.model_id)
    user = dataset.user_index(args.user_id)
    reranker = _reranker(settings, model, dataset)
    query = reranker.recommend if reranker else model.recommend
    indices, scores = _capability(
        model,
        "recommendations",
        lambda: query(user, args.k, exclude_seen=not args.include_seen),
    )
    seen = "including" if args.include_seen else "excluding"
    title = f"top {args.k} for user {dataset.user_id(user)} ({seen} seen items)"
    return _print_items(args, dataset, indices, scores, _titled(title, reranker), reranker)


# ------------------------------------------------------------------------------------ helpers
def _open(model_id: str):
    from ..store import ModelStore

    return ModelStore().open(model_id, progress=ProgressBar("loading"))


def _check_k(k: int) -> None:
    if k < 1:
        raise UserError(f"-k needs to be at least 1, got {k}.")


def _reranker(settings: Any, model: Any, dataset: Any):
    """A Reranker for these settings (checked against the dataset), None for no re-ranking."""
    from ..rerank import Reranker

    if settings.is_identity:
        return None
    reranker = Reranker(settings, model, dataset)
    reranker.require_candidates()
    return reranker


def _titled(title: str, reranker: Any) -> str:
    return f"{title}, re-ranked: {reranker.settings}" if reranker else title


def _capability(model: Any, what: str, call: Any):
    try:
        return call()
    except NotImplementedError as error:
        said = str(error).rstrip(". ") or f"{model.name} cannot answer {what}"
        raise UserError(f"{said}; for {what}, use a model of another algorithm.") from None


def _print_items(
    args, dataset, indices: np.ndarray, scores: np.ndarray, title: str, reranker: Any = None
) -> int:
    categories = dataset.items["category"] if "category" in dataset.items else None
    items = []
    for i, s in zip(indices, scores):
        if int(i) < 0:
            continue
        category = str(categories.iat[int(i)]).strip() if categories is not None else ""
        items.append(
            {
                "item_id": dataset.item_id(int(i)),
                "name": dataset.item_name(int(i)),
                "category": category or None,
                "score": float(s),
            }
        )
    if args.json:
        payload: dict[str, Any] = {"items": items}
        if reranker is not None:
            payload["rerank"] = str(reranker.settings)
        print_json(payload)
        return 0
    echo(title)
    with_category = any(item["category"] for item in items)
    rows = [
        [str(rank), item["item_id"], item["name"][:60]]
        + ([(item["category"] or "")[:30]] if with_category else [])
        + [f"{item['score']:.4g}"]
        for rank, item in enumerate(items, 1)
    ]
    headers = ["#", "item id", "name"] + (["category"] if with_category else []) + ["score"]
    _table(headers, rows)
    if reranker is not None and reranker.settings.has_filters and len(items) < args.k:
        echo(
            f"Only {len(items)} {'item passes' if len(items) == 1 else 'items pass'} the "
            f"filters for this list; loosen them for {args.k}."
            if items
            else "No item passes the filters for this list; loosen them."
        )
    return 0


def _matches_dataset(meta: dict, wanted: str) -> bool:
    source = (meta.get("dataset_source") or {}).get("spec") or ""
    from ..datasets import is_path_spec

    if is_path_spec(wanted) and Path(wanted).expanduser().exists():
        wanted = str(Path(wanted).expanduser().resolve())
    return wanted in {
        meta.get("dataset"),
        meta.get("fingerprint"),
        source,
        Path(source).name if source else None,
    }


def _short_params(params: dict) -> str:
    text = " ".join(f"{k}={v}" for k, v in params.items())
    return text if len(text) <= 60 else text[:57] + "..."


def _seconds(value: Any) -> str:
    if value is None:
        return "?"
    return f"{float(value):.2f} s"


def _table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    echo("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    echo("  ".join("-" * w for w in widths))
    for row in rows:
        echo("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
