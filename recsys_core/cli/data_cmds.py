"""CLI verbs over datasets: ``datasets``, ``fetch``, ``info``.

::

    python -m recsys_core datasets [--json]
    python -m recsys_core fetch DATASET
    python -m recsys_core info DATASET [--data-dir DIR] [--download] [--json]

``info --json`` prints ``Dataset.summary()`` (``n_users``, ``n_items``, ``n_interactions``,
``density``, ``example_item``, ``example_user``, ...) plus the description; without ``--json`` the
same figures as aligned text, headed by the dataset's label ("demo (synthetic demo data)").
The dataset modules are imported inside the commands, so ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

from ..errors import DatasetError
from .output import ProgressBar, echo, log, print_json


def register(subparsers: Any) -> None:
    """Add the dataset verbs to the CLI's subparsers."""
    listing = subparsers.add_parser(
        "datasets",
        help="list known datasets and whether they are on disk",
        description="List the registered datasets, whether each loads without the network, "
        "and what it is.",
    )
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.set_defaults(func=cmd_datasets)

    fetch = subparsers.add_parser(
        "fetch",
        help="download a dataset's raw files",
        description="Download DATASET's raw files into RECSYS_HOME/datasets/DATASET (a progress "
        "bar on stderr); prints the folder. The demo is generated locally instead.",
    )
    fetch.add_argument("dataset", metavar="DATASET", help="registry name, e.g. movielens-100k")
    fetch.set_defaults(func=cmd_fetch)

    info = subparsers.add_parser(
        "info",
        help="figures of a dataset",
        description="Load DATASET and print its size, density and an example item and user.",
    )
    info.add_argument("dataset", metavar="DATASET", help="registry name or csv/tsv/parquet path")
    info.add_argument("--data-dir", default=None, help="folder already holding the raw files")
    info.add_argument(
        "--download", action="store_true", help="fetch a missing remote dataset first"
    )
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(func=cmd_info)


# ---------------------------------------------------------------------------- commands
def cmd_datasets(args: argparse.Namespace) -> int:
    from ..datasets import sources

    rows = [
        {
            "name": source.name,
            "local": bool(source.is_local()),
            "synthetic": source.synthetic,
            "size": source.size_hint,
            "description": source.description,
        }
        for source in sources().values()
    ]
    if args.json:
        print_json({"datasets": rows})
        return 0
    width = max([len("NAME")] + [len(row["name"]) for row in rows])
    echo(f"{'NAME':<{width}}  ON DISK  DESCRIPTION")
    for row in rows:
        on_disk = "yes" if row["local"] else "no"
        echo(f"{row['name']:<{width}}  {on_disk:<7}  {row['description']}")
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from .. import config
    from ..datasets import fetch_dataset, get_source, load_dataset

    source = get_source(args.dataset)
    if source.fetch is None:  # generated locally (the demo): build its cache instead
        log(f"{source.name} is generated locally; nothing to download, preparing its cache.")
        _with_warnings(lambda: load_dataset(source.name))
        echo(str(config.datasets_dir() / source.name))
        return 0
    path = _with_warnings(
        lambda: fetch_dataset(source.name, progress=ProgressBar(f"fetch {source.name}"))
    )
    echo(str(path))
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    dataset = _load(args)
    summary = dict(dataset.summary())
    summary["description"] = dataset.description
    summary["example_item_name"] = dataset.item_name(dataset.item_index(summary["example_item"]))
    if args.json:
        print_json(summary)
        return 0
    for line in format_summary(summary):
        echo(line)
    return 0


def format_summary(summary: dict) -> list[str]:
    """The human-readable lines of ``info`` for a ``Dataset.summary()`` dict."""
    yes_no = {True: "yes", False: "no"}
    lines = [summary["label"]]
    if summary.get("description"):
        lines.append(summary["description"])
    example_item = summary["example_item"]
    if summary.get("example_item_name") and summary["example_item_name"] != example_item:
        example_item = f"{example_item}  ({summary['example_item_name']})"
    figures = [
        ("users", f"{summary['n_users']:,}"),
        ("items", f"{summary['n_items']:,}"),
        ("interactions", f"{summary['n_interactions']:,}"),
        ("density", f"{summary['density']:.2%}"),
        ("example item", example_item),
        ("example user", summary["example_user"]),
        ("timestamps", yes_no[bool(summary.get("has_timestamps"))]),
        ("ratings", yes_no[bool(summary.get("has_ratings"))]),
        ("fingerprint", summary["fingerprint"]),
    ]
    lines.extend(f"  {label:<14}{value}" for label, value in figures)
    return lines


# ---------------------------------------------------------------------------- helpers
def _load(args: argparse.Namespace):
    from ..datasets import is_path_spec, load_dataset, sources

    spec = args.dataset
    if args.data_dir is not None and not Path(args.data_dir).is_dir():
        raise DatasetError(
            f"The folder {args.data_dir} given to --data-dir does not exist; check the path."
        )
    if spec not in sources() and is_path_spec(spec) and not Path(spec).is_file():
        raise DatasetError(f"The file {spec} does not exist; check the path.")
    progress = ProgressBar(f"load {spec}")
    return _with_warnings(
        lambda: load_dataset(
            spec, data_dir=args.data_dir, progress=progress, download=args.download
        )
    )


def _with_warnings(call):
    """Run ``call()``, printing its warnings as one ``warning: ...`` line each on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    for warning in caught:
        log(f"warning: {warning.message}")
    return result
