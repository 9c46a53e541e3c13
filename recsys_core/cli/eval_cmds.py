"""CLI verbs for evaluation and search: ``evaluate`` and ``tune``.

::

    python -m recsys_core evaluate DATASET ALGO [--param K=V ...] [--preset P] [--split SPEC]
                                   [-k 10] [--min-rating R] [--items FILE] [--data-dir DIR]
                                   [--seed N]
                                   [--full-auc] [--save] [--json]
                                   [--rerank SETTINGS] [--exclude-category NAME ...]
                                   [--only-category NAME ...] [--sweep DIAL]
    python -m recsys_core evaluate --model MODEL_ID [-k 10] [--rerank ...] [--sweep DIAL]
                                   [--json]
    python -m recsys_core tune DATASET ALGO (--grid K=V1,V2 ... | --random N [--range K=LO:HI])
                               [--param K=V ...] [--preset P] [--split SPEC] [-k 10]
                               [--metric precision] [--seed N] [--budget SECONDS]
                               [--patience EPOCHS] [--no-resume] [--no-save] [--json]

``evaluate DATASET ALGO`` splits, fits on the train part and prints the metrics (``--json``: one
object with every metric, ``k``, ``n_users``, ``fit_seconds``, ``split``, ``seed`` and the rest of
the protocol). ``--save`` also stores the model (trained on the split) with its metrics in its
``meta.json``; ``evaluate --model MODEL_ID`` re-evaluates such a stored model on the split it was
trained on (rebuilt from its meta) and records the metrics there too.

``--rerank`` (and ``--exclude-category`` / ``--only-category``) evaluates the re-ranked lists
(``recsys_core.rerank``); their metrics are stored under their own key (``...@k=10|rerank:...``),
never over the plain ones. ``--sweep DIAL`` evaluates the dial at 0, 0.25, 0.5, 0.75 and 1
(the other settings fixed) and prints one row per value (``--json``: ``{"sweep": [...]}``);
with ``--model`` or ``--save`` every point is stored like other metrics.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from ..errors import UserError
from ..store.metrics_format import ACCURACY_METRICS, BEYOND_ACCURACY
from ..util.jsonsafe import json_safe
from .data_cmds import add_items_argument, dataset_source, load_source
from .model_cmds import add_rerank_arguments, rerank_settings
from .output import ProgressBar, echo, log, print_json

_SHOWN = (
    tuple(
        m for name in ACCURACY_METRICS for m in ((name, "auc_full") if name == "auc" else (name,))
    )
    + BEYOND_ACCURACY
)
"""The metrics the table shows, in the store's order, with the full-ranking AUC beside AUC."""


def register(subparsers: Any) -> None:
    """Add ``evaluate`` and ``tune`` to the CLI's subparsers."""
    _register_evaluate(subparsers)
    _register_tune(subparsers)


def _register_evaluate(subparsers: Any) -> None:
    evaluate = subparsers.add_parser(
        "evaluate",
        help="held-out ranking metrics of an algorithm or a stored model",
        description="Split DATASET, train ALGO on the train part and measure precision, recall, "
        "MAP, nDCG, AUC, hit rate, MRR and beyond-accuracy metrics on the test part; or "
        "re-evaluate a stored model with --model.",
    )
    evaluate.add_argument(
        "dataset", metavar="DATASET", nargs="?", help="registry name or csv/tsv/parquet path"
    )
    evaluate.add_argument("algorithm", metavar="ALGO", nargs="?", help="algorithm registry key")
    evaluate.add_argument(
        "--model",
        metavar="MODEL_ID",
        default=None,
        help="evaluate a stored model on the split it was trained on",
    )
    _protocol_arguments(evaluate)
    evaluate.add_argument(
        "--full-auc",
        action="store_true",
        help="also compute auc_full (LightFM's full-ranking AUC; on by default for lightfm)",
    )
    evaluate.add_argument(
        "--save", action="store_true", help="store the model trained on the split, with its metrics"
    )
    add_rerank_arguments(evaluate)
    evaluate.add_argument(
        "--sweep",
        default=None,
        metavar="DIAL",
        help="evaluate a re-ranking dial (popularity, diversity or "
        "calibration) at 0, 0.25, 0.5, 0.75 and 1: the accuracy it costs",
    )
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.set_defaults(func=cmd_evaluate)


def _register_tune(subparsers: Any) -> None:
    tune = subparsers.add_parser(
        "tune",
        help="grid or random hyperparameter search (resumable)",
        description="Try parameter sets of ALGO on one split of DATASET and rank them by a "
        "metric; results are saved as they come, so running the same command again resumes.",
    )
    tune.add_argument("dataset", metavar="DATASET", help="registry name or csv/tsv/parquet path")
    tune.add_argument("algorithm", metavar="ALGO", help="algorithm registry key")
    tune.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="K=V1,V2",
        help="values of one parameter (repeatable); every combination is tried",
    )
    tune.add_argument(
        "--random",
        type=int,
        default=None,
        metavar="N",
        help="N random draws from the parameters' search ranges (narrower than "
        "what is valid, e.g. als factors 16-256 and alpha 1-100, log-uniform; see "
        "docs/METRICS.md) instead of a grid",
    )
    tune.add_argument(
        "--range",
        action="append",
        default=[],
        metavar="K=LOW:HIGH[:log]",
        help="with --random: a parameter and its range (K alone: its search "
        "range; K=V1,V2: a list); default every parameter with a search range "
        "or choices, except epoch counts",
    )
    _protocol_arguments(tune)
    tune.add_argument(
        "--metric",
        default="precision",
        help="the metric to maximise (default precision: hits / k; "
        "precision_implicit is implicit's hits / min(k, held-out))",
    )
    tune.add_argument(
        "--budget",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop starting candidates after this many seconds (resume later)",
    )
    tune.add_argument(
        "--patience",
        type=int,
        default=None,
        metavar="EPOCHS",
        help="stop a candidate whose test metric has not improved for this many "
        "epochs (als, bpr, lmf, lightfm)",
    )
    tune.add_argument(
        "--no-resume",
        action="store_true",
        help="start the search over instead of skipping finished candidates",
    )
    tune.add_argument("--no-save", action="store_true", help="do not store the best model")
    tune.add_argument("--json", action="store_true", help="print one JSON object")
    tune.set_defaults(func=cmd_tune)


def _protocol_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="K=V",
        help="a parameter value (repeatable); see the algorithm's schema",
    )
    parser.add_argument("--preset", default=None, help="a named preset of the algorithm")
    parser.add_argument(
        "--split",
        default=None,
        metavar="SPEC",
        help="holdout:N[:F], random:P, leave-last:N or a predefined split such "
        "as ua (default holdout:5)",
    )
    parser.add_argument("-k", type=int, default=10, help="length of the lists (default 10)")
    parser.add_argument(
        "--min-rating",
        type=float,
        default=None,
        metavar="R",
        help="explicit datasets: ratings of at least R count as positives",
    )
    add_items_argument(parser)
    parser.add_argument("--data-dir", default=None, help="folder already holding the raw files")
    parser.add_argument(
        "--seed", type=int, default=None, help="random_state of the split (default 0)"
    )


# ------------------------------------------------------------------------------------ verbs
def cmd_evaluate(args: argparse.Namespace) -> int:
    from ..evaluation import evaluate_model, evaluate_stored, save_result
    from ..rerank import DIALS, check_before_training

    _check_k(args.k)
    settings = rerank_settings(args)
    if args.sweep is not None and args.sweep not in DIALS:
        raise UserError(f"--sweep takes a dial: {', '.join(DIALS)}; got {args.sweep!r}.")
    if args.sweep is not None:
        return _sweep(args, settings)
    rerank = None if settings.is_identity else settings
    if args.model:
        clashing = [
            flag
            for flag, value in (
                ("DATASET", args.dataset),
                ("--param", args.param),
                ("--preset", args.preset),
                ("--split", args.split),
                ("--seed", args.seed),
                ("--min-rating", args.min_rating),
                ("--items", args.items),
                ("--data-dir", args.data_dir),
                ("--save", args.save),
            )
            if value
        ]
        if clashing:
            raise UserError(
                f"--model evaluates a stored model on the split it was trained on, so "
                f"{clashing[0]} does not apply; drop it."
            )
        result = evaluate_stored(
            args.model,
            args.k,
            full_auc=True if args.full_auc else None,
            progress=ProgressBar("evaluating"),
            rerank=rerank,
        )
        payload = result.to_dict()
    else:
        if not args.dataset or not args.algorithm:
            raise UserError(
                "evaluate needs DATASET and ALGO (e.g. `evaluate demo als`), or --model MODEL_ID."
            )
        params = _params(args)
        dataset, source = _load(args)
        if rerank is not None:  # an unknown category, or filters nothing passes: before training
            rerank = rerank.resolve(dataset)
            check_before_training(rerank, dataset)
        split, seed = args.split or "holdout:5", 0 if args.seed is None else args.seed
        result = evaluate_model(
            dataset,
            args.algorithm,
            params,
            split,
            args.k,
            seed,
            preset=args.preset,
            full_auc=True if args.full_auc else None,
            progress=ProgressBar(f"evaluating {args.algorithm}"),
            rerank=rerank,
        )
        payload = result.to_dict()
        if args.save:
            payload["model_id"] = save_result(result, dataset, source=source)
    if args.json:
        print_json(payload)
        return 0
    _print_evaluation(payload)
    return 0


def _sweep(args: argparse.Namespace, settings: Any) -> int:
    """``evaluate ... --sweep DIAL``: one row of metrics per value of the dial."""
    if args.model:
        frame, payload = _sweep_stored_model(args, settings)
    else:
        frame, payload, settings = _sweep_trained(args, settings)
    payload.update({"k": args.k, "dial": args.sweep, "base": str(settings)})
    rows = frame.drop(columns=[c for c in ("key",) if c in frame]).to_dict("records")
    payload["sweep"] = json_safe(rows)
    if args.json:
        print_json(payload)
        return 0
    _print_sweep(args, settings, payload)
    return 0


def _sweep_stored_model(args: argparse.Namespace, settings: Any) -> tuple[Any, dict[str, Any]]:
    """(the sweep's frame, the payload so far) of ``--model MODEL_ID --sweep DIAL``."""
    from ..sweep import SWEEP_VALUES, sweep_stored

    if args.dataset or args.param or args.preset or args.split or args.seed is not None:
        raise UserError(
            "--model sweeps a stored model on the split it was trained on; "
            "drop DATASET, --param, --preset, --split and --seed."
        )
    frame = sweep_stored(
        args.model,
        args.sweep,
        SWEEP_VALUES,
        args.k,
        base=settings,
        progress=ProgressBar(f"sweeping {args.sweep}"),
    )
    return frame, {"model_id": args.model}


def _sweep_trained(args: argparse.Namespace, settings: Any) -> tuple[Any, dict[str, Any], Any]:
    """(the sweep's frame, the payload so far, the settings resolved on the dataset) of
    ``DATASET ALGO --sweep DIAL``: train on the split, store it with ``--save``, sweep."""
    from ..evaluation import evaluate_model, save_result, split_for
    from ..rerank import check_before_training
    from ..sweep import SWEEP_VALUES, sweep, sweep_stored

    if not args.dataset or not args.algorithm:
        raise UserError(
            "evaluate needs DATASET and ALGO (e.g. `evaluate demo als --sweep popularity`), "
            "or --model MODEL_ID."
        )
    params = _params(args)
    dataset, source = _load(args)
    settings = settings.resolve(dataset)
    check_before_training(settings, dataset)
    split_spec, seed = args.split or "holdout:5", 0 if args.seed is None else args.seed
    split = split_for(dataset, split_spec, seed)
    result = evaluate_model(
        dataset,
        args.algorithm,
        params,
        split_spec,
        args.k,
        seed,
        preset=args.preset,
        split=split,
        progress=ProgressBar(f"training {args.algorithm}"),
    )
    payload: dict[str, Any] = {"dataset": dataset.name, "algorithm": args.algorithm}
    if args.save:
        model_id = save_result(result, dataset, source=source)
        frame = sweep_stored(
            model_id,
            args.sweep,
            SWEEP_VALUES,
            args.k,
            base=settings,
            progress=ProgressBar(f"sweeping {args.sweep}"),
        )
        payload["model_id"] = model_id
    else:
        frame = sweep(
            result.model,
            dataset,
            split,
            args.sweep,
            SWEEP_VALUES,
            args.k,
            base=settings,
            progress=ProgressBar(f"sweeping {args.sweep}"),
        )
    payload.update({"split": split_spec, "seed": seed})
    return frame, payload, settings


_SWEEP_SHOWN = (
    "value",
    "precision",
    "recall",
    "coverage",
    "novelty",
    "mean_popularity",
    "diversity_category",
    "diversity_vectors",
)
"""The columns of the sweep's text table (``--json`` has every metric)."""


def _print_sweep(args: argparse.Namespace, settings: Any, payload: dict[str, Any]) -> None:
    base = f" (with {settings})" if str(settings) else ""
    echo(f"sweep of {args.sweep}{base}, k={args.k}")
    echo("  ".join(f"{c:>18}" for c in _SWEEP_SHOWN))
    for row in payload["sweep"]:
        echo("  ".join(f"{_number(row.get(c)):>18}" for c in _SWEEP_SHOWN))
    if payload.get("model_id"):
        echo(f"stored with {payload['model_id']}")


def cmd_tune(args: argparse.Namespace) -> int:
    from ..tuning import candidates, parse_grid_args, parse_range_args, tune

    _check_k(args.k)
    grid = parse_grid_args(args.grid) if args.grid else None
    if args.range and args.random is None:
        raise UserError("--range shapes a random search; add --random N (or use --grid).")
    space = parse_range_args(args.range) if args.range else None
    fixed = _params(args)
    candidates(
        args.algorithm,
        grid=grid,
        n_random=args.random,
        space=space,
        fixed=fixed,
        preset=args.preset,
    )  # a bad search spec fails before the data is loaded
    dataset, source = _load(args)
    result = tune(
        dataset,
        args.algorithm,
        grid=grid,
        n_random=args.random,
        space=space,
        fixed=fixed,
        preset=args.preset,
        split_spec=args.split or "holdout:5",
        k=args.k,
        metric=args.metric,
        seed=0 if args.seed is None else args.seed,
        budget=args.budget,
        patience=args.patience,
        progress=ProgressBar(f"tuning {args.algorithm}"),
        resume=not args.no_resume,
        save_best=not args.no_save,
        source=source,
    )
    payload = {
        "dataset": dataset.name,
        "algorithm": args.algorithm,
        "split": args.split or "holdout:5",
        "k": args.k,
    }
    payload.update(result.to_dict())
    if args.json:
        print_json(payload)
        return 0
    _print_tuning(payload, result)
    return 0


# ------------------------------------------------------------------------------------ helpers
def _check_k(k: int) -> None:
    if k < 1:
        raise UserError(f"-k needs to be at least 1, got {k}.")


def _params(args: argparse.Namespace) -> dict[str, str]:
    from ..algorithms import parse_param_args, parse_params

    raw = parse_param_args(args.param)
    parse_params(args.algorithm, raw, args.preset)  # fail fast, before loading data
    return raw


def _load(args: argparse.Namespace):
    source = dataset_source(
        args.dataset, items=args.items, data_dir=args.data_dir, min_rating=args.min_rating
    )
    return load_source(source), source


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 100 else f"{value:,.1f}"
    return str(value)


def _print_evaluation(payload: dict[str, Any]) -> None:
    title = f"{payload.get('algorithm')} on {payload.get('dataset')}"
    if payload.get("rerank"):
        title += f", re-ranked: {payload['rerank']}"
    echo(
        f"{title}: split {payload.get('split')}, seed {payload.get('seed')}, "
        f"k={payload.get('k')}, {payload.get('n_users'):,} test users "
        f"({payload.get('n_users_without_train', 0):,} without training data)"
    )
    fit = payload.get("fit_seconds")
    if fit is not None:
        echo(f"fit {fit:.2f}s, evaluation {payload.get('eval_seconds', 0):.2f}s")
    conventions = payload.get("conventions") or {}
    for name in _SHOWN:
        if name in payload:
            note = f"  ({conventions[name]} convention)" if name in conventions else ""
            echo(f"  {name:<20} {_number(payload[name])}{note}")
    if payload.get("model_id"):
        echo(f"stored as {payload['model_id']}")


def _print_tuning(payload: dict[str, Any], result: Any) -> None:
    metric = payload["metric"]
    table = result.table
    if len(table) and metric in table:
        shown = table.sort_values(metric, ascending=False, na_position="last").head(15)
        columns = list(result.searched) + [metric, "fit_seconds", "status"]
        header = "  ".join(f"{c:>14}" for c in columns)
        echo(header)
        for _, row in shown.iterrows():
            echo("  ".join(f"{_number(row.get(c)):>14}" for c in columns))
    done = payload["n_done"]
    state = (
        "complete" if payload["complete"] else "stopped by the time budget (run again to resume)"
    )
    log(
        f"{done} of {payload['n_candidates']} candidates done ({payload['n_resumed']} from an "
        f"earlier run); search {state}; results in {payload['results_path']}"
    )
    best = payload.get("best")
    if best:
        echo(f"best {metric} {_number(best.get(metric))} with {best['params']}")
    if payload.get("best_model_id"):
        echo(f"stored as {payload['best_model_id']}")
