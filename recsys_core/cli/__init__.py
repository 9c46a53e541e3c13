"""``python -m recsys_core``: the command line.

Each group of verbs lives in its own module with a ``register(subparsers)`` function that adds its
parsers and sets ``func``. Results go to stdout (``--json``: exactly one JSON document); progress
bars and logs go to stderr. A user mistake (a ``UserError``) prints one sentence to stderr and
exits 2, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import UserError

_VERB_MODULES = ("data_cmds", "model_cmds", "eval_cmds", "projection_cmds", "spark_cmds")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one sentence, exit 2 (argparse's own convention)
        sys.stderr.write(f"{self.prog}: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m recsys_core",
        description="Train, evaluate and browse implicit-feedback recommenders.",
    )
    sub = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    sub.required = True
    for name in _VERB_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as error:
            if error.name and error.name.endswith(name):
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except UserError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; nothing was left half-written.\n")
        return 130
    return int(result or 0)
