"""``meta.json``: what a stored model is, written by the store and checked field by field when read.

Keys (schema 1): ``schema``, ``model_id``, ``algorithm``, ``params``, ``dataset`` (name),
``dataset_label``, ``fingerprint``, ``dataset_source`` (``{"spec", "data_dir", "options"}``: what
to pass to ``load_dataset`` to get the dataset back; ``spec`` is a registry name or an absolute
file path), ``reused_sources`` (optional: other sources of the same content the model was reused
for, in the same shape), ``variant``, ``synthetic``, ``n_users``, ``n_items``, ``versions``
(library versions), ``fit_seconds``, ``created`` (ISO 8601 UTC), ``metrics`` (``{protocol key:
{metric: value}}``, :mod:`.metrics_format`), ``extra`` (free-form dict from the caller).

Everything read back is untrusted: read with a size cap (:data:`META_MAX_BYTES`), any JSON shape
or depth, and the fields the store, the CLI and the app use are checked for type (a bad field is
left out of the meta the store hands on, with one sentence saying why).
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import __version__
from ..algorithms.base import Recommender
from ..dataset import Dataset
from ..datasets import FILE_SUFFIXES, kcore_spec, sources, split_spec
from ..errors import DatasetError, UserError
from ..util.jsonsafe import json_default
from .metrics_format import METRICS, upgrade_stored_metrics

SCHEMA_VERSION = 1
META = "meta.json"
META_MAX_BYTES = 1 << 20
"""The largest ``meta.json`` read (1 MB; the store writes a few KB)."""
MAX_REUSED_SOURCES = 64
"""The most ``reused_sources`` a meta keeps (the newest; each a path of at most a few KB)."""
ALGORITHM_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_VERSION_DISTRIBUTIONS = {
    "numpy": ("numpy",),
    "scipy": ("scipy",),
    "implicit": ("implicit",),
    "lightfm": ("lightfm", "lightfm-next"),
    "sklearn": ("scikit-learn",),
}


# ------------------------------------------------------------------------------- writing
def library_versions() -> dict[str, str | None]:
    """Versions of the libraries a stored model depends on (None where not installed)."""
    versions: dict[str, str | None] = {}
    for key, names in _VERSION_DISTRIBUTIONS.items():
        versions[key] = None
        for name in names:
            try:
                versions[key] = importlib.metadata.version(name)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    versions["recsys_core"] = __version__
    return versions


def default_source(dataset: Dataset) -> dict:
    """How to load ``dataset`` again when the caller does not say: its registry name (or the
    ``@kcore=`` spec it was cut with), and for a file dataset the file's absolute path
    (``extras["source_path"]``, with the same ``@kcore=`` part)."""
    extras = dataset.extras
    spec = str(extras.get("path") or extras.get("source") or dataset.name)
    try:
        base, cut = split_spec(spec)
    except DatasetError:
        base, cut = spec, None
    file = extras.get("source_path")
    is_file = isinstance(file, str) and Path(file).suffix.lower() in FILE_SUFFIXES
    if is_file and base not in sources():
        spec = str(Path(file).expanduser().resolve())
        if cut is not None:
            spec = kcore_spec(spec, *cut)
    return {"spec": spec, "data_dir": None, "options": {}}


def plain(value: Any) -> Any:
    """``value`` as plain JSON types (numpy scalars to Python, tuples to lists), a deep copy."""
    return json.loads(json.dumps(value, default=json_default))


def new_meta(
    model: Recommender,
    dataset: Dataset,
    model_id: str,
    params: dict,
    *,
    fit_seconds: float | None,
    source: dict | None,
    variant: str | None,
    extra: dict | None,
) -> dict:
    """The meta of a model being saved (see the module docstring for the keys)."""
    return {
        "schema": SCHEMA_VERSION,
        "model_id": model_id,
        "algorithm": model.name,
        "params": params,
        "dataset": dataset.name,
        "dataset_label": dataset.label,
        "fingerprint": dataset.fingerprint,
        "dataset_source": plain(source or default_source(dataset)),
        "variant": variant,
        "synthetic": bool(dataset.synthetic),
        "n_users": int(getattr(model, "n_users_", None) or dataset.n_users),
        "n_items": int(model.n_items_),
        "versions": library_versions(),
        "fit_seconds": None if fit_seconds is None else float(fit_seconds),
        "created": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "metrics": {},
        "extra": plain(extra or {}),
    }


def write_json(path: Path, payload: dict) -> None:
    """Write ``payload`` as indented, key-sorted JSON into ``path`` and flush it to disk."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, sort_keys=True, default=json_default)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())


# ------------------------------------------------------------------------------- reading
def read_meta(folder: Path) -> tuple[dict | None, str | None]:
    """(meta, None) or (what could be kept of it, or None, the reason it is damaged).

    Metrics stored before :data:`~.metrics_format.METRICS_VERSION` 2 come back relabelled
    (:func:`~.metrics_format.upgrade_stored_metrics`).
    """
    path = folder / META
    if not folder.is_dir():
        return None, "not a folder"
    try:
        with open(path, "rb") as handle:
            raw = handle.read(META_MAX_BYTES + 1)
    except FileNotFoundError:
        return None, f"{META} is missing"
    except OSError:
        return None, f"{META} is unreadable"
    if len(raw) > META_MAX_BYTES:
        return None, f"{META} is larger than {META_MAX_BYTES // (1 << 20)} MB"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, f"{META} is not UTF-8 text"
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as error:
        return None, f"{META} is not valid JSON ({error.msg} at line {error.lineno})"
    except RecursionError:
        return None, f"{META} is nested too deeply to be a model's meta"
    except ValueError:  # e.g. an integer of more digits than Python converts
        return None, f"{META} is not valid JSON"
    clean, reason = check_meta(meta)
    if clean is not None and isinstance(clean.get("metrics"), dict):
        clean["metrics"] = upgrade_stored_metrics(clean["metrics"])  # old precision relabelled
    return clean, reason


def check_meta(meta: Any) -> tuple[dict | None, str | None]:
    """(meta, None) when every known field has the right shape; else (the meta without its
    malformed fields, the first reason). Never raises, whatever JSON it is given."""
    if not isinstance(meta, dict):
        return None, f"{META} is not a JSON object"
    clean: dict = {}
    reason = None
    for key, value in meta.items():
        check = _META_FIELDS.get(key)
        if check is None or check(value):
            clean[key] = value
        elif reason is None:
            reason = f"{META} has a malformed {key!r} field"
    missing = [key for key in _REQUIRED_META if key not in meta]
    if missing:
        return clean, f"{META} lacks {', '.join(missing)}"
    if reason is not None:
        return clean, reason
    if clean["schema"] > SCHEMA_VERSION or clean["schema"] < 1:
        shown = clean["schema"] if abs(clean["schema"]) < 10**6 else "of another version"
        return clean, f"{META} has schema {shown}, which this version does not read"
    return clean, None


def params_problem(cls: type[Recommender], params: dict) -> str | None:
    """Why stored parameters do not fit the algorithm's schema (None when they do)."""
    schema = {p.name: p for p in cls.params}
    for key, value in params.items():
        param = schema.get(key)
        if param is None:
            return f"{META} names a parameter {cls.name} does not have"
        try:
            param.validate(value)
        except UserError:
            return f"{META} has an invalid value for the parameter {key}"
    return None


def quoted(name: Any) -> str:
    """A name read from a file, quoted when it looks like a registry key, else described."""
    text = str(name)
    return repr(text) if ALGORITHM_NAME.match(text) else "(a name this version cannot show)"


# ------------------------------------------------------------------------ field checks
def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or check(value)


def _is_timestamp(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 64:
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_params(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and _is_scalar(v) for k, v in value.items()
    )


def is_source(value: Any) -> bool:
    """``{"spec": str, "data_dir": str or None, "options": {keyword: value}}``."""
    if not isinstance(value, dict):
        return False
    texts = [value.get("spec"), value.get("data_dir")]
    if not all(text is None or isinstance(text, str) for text in texts):
        return False
    options = value.get("options")
    return options is None or (
        isinstance(options, dict) and all(key.isidentifier() for key in options)
    )


def _is_versions(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in value.items()
    )


def _is_metrics(value: Any) -> bool:
    """``{protocol: {metric: value}}``: the aggregates are numbers (or None), ``k`` an integer,
    ``slices`` a list of tables, ``conventions`` a table."""
    if not isinstance(value, dict):
        return False
    for protocol, found in value.items():
        if not isinstance(protocol, str) or not isinstance(found, dict):
            return False
        for key, item in found.items():
            if not isinstance(key, str):
                return False
            if key in METRICS or key in ("fit_seconds", "eval_seconds"):
                ok = item is None or _is_number(item)
            elif key == "k":
                ok = _is_int(item)
            elif key == "slices":
                ok = isinstance(item, list) and all(isinstance(r, dict) for r in item)
            elif key == "conventions":
                ok = isinstance(item, dict)
            else:
                ok = _is_scalar(item) or isinstance(item, (dict, list))
            if not ok:
                return False
    return True


_META_FIELDS: dict[str, Callable[[Any], bool]] = {
    "schema": _is_int,
    "model_id": _optional(lambda v: isinstance(v, str)),
    "algorithm": lambda v: isinstance(v, str) and ALGORITHM_NAME.match(v) is not None,
    "params": _is_params,
    "dataset": _optional(lambda v: isinstance(v, str)),
    "dataset_label": _optional(lambda v: isinstance(v, str)),
    "fingerprint": _optional(lambda v: isinstance(v, str)),
    "dataset_source": _optional(is_source),
    "reused_sources": _optional(lambda v: isinstance(v, list) and all(is_source(s) for s in v)),
    "variant": _optional(lambda v: isinstance(v, str)),
    "synthetic": _optional(lambda v: isinstance(v, bool)),
    "n_users": _optional(lambda v: _is_int(v) and v >= 0),
    "n_items": _optional(lambda v: _is_int(v) and v >= 0),
    "versions": _optional(_is_versions),
    "fit_seconds": _optional(lambda v: _is_number(v) and math.isfinite(v) and v >= 0),
    "created": _optional(_is_timestamp),
    "metrics": _optional(_is_metrics),
    "extra": _optional(lambda v: isinstance(v, dict)),
}
_REQUIRED_META = ("schema", "algorithm", "params")
