"""CLI verbs over datasets: ``datasets``, ``fetch``, ``info``, ``cache``.

::

    python -m recsys_core datasets [--json]
    python -m recsys_core fetch DATASET
    python -m recsys_core info DATASET [--items FILE] [--data-dir DIR] [--download] [--json]
    python -m recsys_core cache list [--json]
    python -m recsys_core cache clean [--unused-days DAYS] [--json]

``cache`` shows and removes the parsed copies of data files kept under
``RECSYS_HOME/cache/parsed`` (see :mod:`recsys_core.datasets.parsed`): a file is parsed once,
and every later command, and the app, reads its arrays back.

``info --json`` prints ``Dataset.summary()`` (``n_users``, ``n_items``, ``n_interactions``,
``density``, ``example_item``, ``example_user``, ...) plus the description; without ``--json`` the
same figures as aligned text, headed by the dataset's label ("demo (synthetic demo data)").
The dataset modules are imported inside the commands, so ``--help`` stays instant.

:func:`dataset_source` is how every verb that takes a DATASET (``info``, ``train``,
``evaluate``, ``tune``) turns it and ``--items`` / ``--data-dir`` into what ``load_dataset``
takes and the model store records. The command line opens any path: it is run by the machine's
own user (the app only opens what :func:`recsys_core.datasets.require_shareable` allows).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

from ..errors import DatasetError, UserError
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
    add_items_argument(info)
    info.add_argument("--data-dir", default=None, help="folder already holding the raw files")
    info.add_argument(
        "--download", action="store_true", help="fetch a missing remote dataset first"
    )
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(func=cmd_info)

    cache = subparsers.add_parser(
        "cache",
        help="list or remove the parsed copies of data files",
        description="A csv / tsv / parquet file is parsed once; its arrays are kept under "
        "RECSYS_HOME/cache/parsed, keyed by the file's content and the options it was read "
        "with, and read back by every later command and by the app.",
    )
    actions = cache.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    listing = actions.add_parser(
        "list",
        help="the parsed files kept, most recently used first",
        description="List the parsed files kept: the name each was parsed as, its size, and "
        "when it was last used.",
    )
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.set_defaults(func=cmd_cache_list)
    clean = actions.add_parser(
        "clean",
        help="remove parsed files (all, or those unused for some days)",
        description="Remove the parsed copies (the next load parses the file again). "
        "Processes that have one open keep reading it until they end.",
    )
    clean.add_argument(
        "--unused-days",
        type=float,
        default=None,
        metavar="DAYS",
        help="only those not used for this many days",
    )
    clean.add_argument("--json", action="store_true", help="print one JSON object")
    clean.set_defaults(func=cmd_cache_clean)


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


def cmd_cache_list(args: argparse.Namespace) -> int:
    from ..datasets import parsed

    parsed.wait()  # copies this process is still writing are listed too
    rows = parsed.entries()
    total = sum(row["bytes"] for row in rows)
    if args.json:
        print_json({"folder": str(parsed.root()), "bytes": total, "entries": rows})
        return 0
    if not rows:
        echo("No parsed files are kept; a file is kept the first time it is loaded.")
        return 0
    width = max([len("FILE")] + [len(row["file"] or "?") for row in rows])
    echo(f"{'KEY':<12}  {'FILE':<{width}}  {'ROWS':>12}  {'SIZE':>9}  LAST USED")
    for row in rows:
        if row["damaged"]:
            echo(f"{row['key'][:12]:<12}  damaged: {row['damaged']}")
            continue
        used = (row["used"] or "")[:16].replace("T", " ")
        echo(
            f"{row['key'][:12]:<12}  {row['file']:<{width}}  {row['rows']:>12,}  "
            f"{_megabytes(row['bytes']):>9}  {used}"
        )
    echo(f"{len(rows)} kept, {_megabytes(total)} in {parsed.root()}")
    return 0


def cmd_cache_clean(args: argparse.Namespace) -> int:
    from ..datasets import parsed

    days = args.unused_days
    if days is not None and not (days >= 0):  # also refuses nan
        raise UserError(f"--unused-days takes a number of days >= 0, not {days:g}.")
    parsed.wait()  # a copy still being written is cleaned too, not put back after
    removed, freed = parsed.clean(days)
    if args.json:
        print_json({"removed": removed, "bytes": freed})
        return 0
    which = "" if days is None else f" unused for {days:g} day(s)"
    echo(f"Removed {removed} parsed file(s){which}, {_megabytes(freed)}.")
    return 0


def _megabytes(n_bytes: int) -> str:
    return f"{n_bytes / 1024**2:,.1f} MB"


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
def add_items_argument(parser: argparse.ArgumentParser) -> None:
    """``--items FILE``: the item metadata of a DATASET that is a file."""
    parser.add_argument(
        "--items",
        default=None,
        metavar="FILE",
        help="item metadata for a DATASET that is a file (csv/tsv/parquet with item_id and any "
        "of name, image_url, url, category, tags), as an upload's items file",
    )


def dataset_source(
    spec: str, *, items: str | None = None, data_dir: str | None = None, **options: Any
) -> dict[str, Any]:
    """What to load for a DATASET argument, as the model store records it.

    Parameters
    ----------
    spec : str
        A registry name or a file path, optionally followed by ``@kcore=U,I``; an existing file
        becomes its absolute path, so ``similar``, ``recommend`` and the app find it again.
    items : str, optional
        ``--items``: an items file for a DATASET that is a file (absolute path in
        ``options["items_path"]``).
    data_dir : str, optional
        ``--data-dir``: a folder already holding a registry dataset's raw files.
    **options
        Other loader options (``min_rating``).

    Returns
    -------
    dict
        ``{"spec", "data_dir", "options"}``: ``load_dataset(spec, data_dir=data_dir,
        **options)`` loads it.

    Raises
    ------
    UserError
        For a missing file, folder or items file, or ``--items`` with a registry dataset.
    """
    from ..datasets import KCORE_SUFFIX, is_path_spec, sources, split_spec

    base, cut = split_spec(spec)
    is_file = base not in sources() and is_path_spec(base)
    if is_file:
        path = Path(base).expanduser()
        if not path.is_file():
            what = "is a folder, not a file" if path.is_dir() else "does not exist"
            raise DatasetError(f"The file {base} {what}; check the path.")
        base = str(path.resolve())
    if data_dir is not None:
        if not Path(data_dir).expanduser().is_dir():
            raise DatasetError(
                f"The folder {data_dir} given to --data-dir does not exist; check the path."
            )
        data_dir = str(Path(data_dir).expanduser().resolve())
    options = {key: value for key, value in options.items() if value is not None}
    if items is not None:
        if not is_file:
            raise UserError(
                f"--items goes with a DATASET that is a file, not {base!r}; that dataset has "
                "its own item metadata."
            )
        items_file = Path(items).expanduser()
        if not items_file.is_file():
            what = "is a folder, not a file" if items_file.is_dir() else "does not exist"
            raise DatasetError(f"The items file {items} {what}; check the path.")
        options["items_path"] = str(items_file.resolve())
    spec = f"{base}{KCORE_SUFFIX}{cut[0]},{cut[1]}" if cut else base
    return {"spec": spec, "data_dir": data_dir, "options": options}


def load_source(source: dict[str, Any], *, download: bool = False, label: str = "loading"):
    """The Dataset of a :func:`dataset_source` (a progress bar and warnings on stderr)."""
    from ..datasets import load_dataset

    return _with_warnings(
        lambda: load_dataset(
            source["spec"],
            data_dir=source["data_dir"],
            progress=ProgressBar(label),
            download=download,
            **source["options"],
        )
    )


def _load(args: argparse.Namespace):
    source = dataset_source(args.dataset, items=args.items, data_dir=args.data_dir)
    return load_source(source, download=args.download, label=f"load {args.dataset}")


def _with_warnings(call):
    """Run ``call()``, printing its warnings as one ``warning: ...`` line each on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    for warning in caught:
        log(f"warning: {warning.message}")
    return result
