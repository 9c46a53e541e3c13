"""Spark ALS model folders: written by Spark, read with pyarrow alone (or with Spark for a URI).

:func:`write_model_dir` writes a trained model as Spark does (``ALSModel.save``) plus the id maps
(``user_ids/`` and ``item_ids/`` parquet: ``index``, ``id``) and the training parameters;
:func:`read_model_dir` reads such a folder, or any folder with ``userFactors``/``itemFactors``
parquet, with pyarrow only (no Spark, no Java); :func:`read_factors` reads a local folder that
way and a URI (``hdfs://``, ``s3a://``) with Spark's ``ALSModel.load``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads

from ..util.ids import in_index_order
from ..util.jsonsafe import json_default
from .align import IdAlignmentError
from .read import is_uri
from .session import SparkError, current_session, first_line, get_session

USER_IDS = "user_ids"
ITEM_IDS = "item_ids"
USER_FACTORS = "userFactors"
ITEM_FACTORS = "itemFactors"
TRAINING_PARAMS = "training_params"


@dataclass
class SparkFactors:
    """Factors read from a Spark ALS model folder (see :func:`read_model_dir`).

    ``user_ids`` / ``item_ids`` are the original ids (str) of the rows of ``user_factors`` /
    ``item_factors``; ``params`` holds Spark's parameters from the model's metadata.
    """

    user_ids: np.ndarray
    user_factors: np.ndarray
    item_ids: np.ndarray
    item_factors: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)
    spark_version: str | None = None
    ids_are: str = "original"


def write_model_dir(
    model: Any,
    path: str,
    user_ids: np.ndarray,
    item_ids: np.ndarray,
    params: dict[str, Any] | None = None,
) -> None:
    """Save an ALSModel (``ALSModel.save`` layout) plus ``user_ids/`` and ``item_ids/`` parquet
    (``index``, ``id``) and the training parameters (``training_params/``, one JSON line:
    ALSModel's own metadata keeps only the rank).

    ``path`` may be any URI Spark writes; everything is written by Spark.
    """
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession() or current_session()
    target = str(path)
    if not is_uri(target):
        target = str(Path(target).expanduser().resolve())
    try:
        model.write().overwrite().save(target)
        for name, ids in ((USER_IDS, user_ids), (ITEM_IDS, item_ids)):
            table = pa.table(
                {"index": pa.array(np.arange(len(ids), dtype=np.int32)), "id": pa.array(ids)}
            )
            spark.createDataFrame(table).write.mode("overwrite").parquet(f"{target}/{name}")
        if params:
            line = json.dumps(params, sort_keys=True, default=json_default)
            spark.createDataFrame([(line,)], "value string").coalesce(1).write.mode(
                "overwrite"
            ).text(f"{target}/{TRAINING_PARAMS}")
    except Exception as error:
        raise SparkError(f"Spark could not write {target} ({first_line(error)}).") from None


def read_model_dir(path: str | Path, *, ids: str = "auto") -> SparkFactors:
    """Read a Spark ALS model folder with pyarrow only (no Spark, no Java).

    Parameters
    ----------
    path : str or Path
        A folder written by ``ALSModel.save`` (``metadata/``, ``userFactors/``,
        ``itemFactors/``), by :func:`write_model_dir` (the same plus ``user_ids/``,
        ``item_ids/``), or any folder holding ``userFactors`` and ``itemFactors`` parquet
        (``model.userFactors.write.parquet(...)``).
    ids : {"auto", "original", "index"}
        What the factors' integer ``id`` column means. "auto": an index into the id maps when
        the folder has them, else the original ids (ALS trained on integer ids such as
        MovieLens'). "index": matrix indices of the dataset the factors are aligned to.

    Returns
    -------
    SparkFactors
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        raise SparkError(
            f"There is no folder at {path}; give the folder an ALS model was saved to (copy it "
            "from HDFS or S3 first)."
        )
    found = {name: _find_parquet(root, name) for name in (USER_FACTORS, ITEM_FACTORS)}
    missing = [name for name, where in found.items() if where is None]
    if missing:
        raise SparkError(
            f"{root} has no {' or '.join(missing)} parquet; give the folder ALSModel.save wrote "
            "(with userFactors/ and itemFactors/ inside)."
        )
    user_table = _read_table(found[USER_FACTORS])
    item_table = _read_table(found[ITEM_FACTORS])
    params, version = _read_metadata(root)
    rank = int(params.get("rank") or _rank_of(item_table))
    user_raw = np.asarray(user_table.column("id").to_numpy(), dtype=np.int64)
    item_raw = np.asarray(item_table.column("id").to_numpy(), dtype=np.int64)
    user_vectors = _vectors(user_table, rank)
    item_vectors = _vectors(item_table, rank)
    maps = {name: _find_parquet(root, name) for name in (USER_IDS, ITEM_IDS)}
    has_maps = all(maps.values())
    if ids not in ("auto", "original", "index"):
        raise SparkError(f"ids={ids!r} is not one of auto, original, index.")
    if ids == "auto":
        ids = "maps" if has_maps else "original"
    if ids == "maps":
        user_ids = _mapped(user_raw, _read_id_map(maps[USER_IDS]), "user")
        item_ids = _mapped(item_raw, _read_id_map(maps[ITEM_IDS]), "item")
        ids_are = "original"
    else:
        user_ids, item_ids = user_raw.astype(str), item_raw.astype(str)
        ids_are = ids
    return SparkFactors(
        user_ids=user_ids,
        user_factors=user_vectors,
        item_ids=item_ids,
        item_factors=item_vectors,
        params=params,
        spark_version=version,
        ids_are=ids_are,
    )


def _find_parquet(root: Path, name: str) -> Path | None:
    for candidate in (root / name, root / f"{name}.parquet"):
        if candidate.exists():
            return candidate
    return None


def _read_table(path: Path) -> pa.Table:
    try:
        dataset = pads.dataset(
            str(path), format="parquet", exclude_invalid_files=True, ignore_prefixes=["_", "."]
        )
        return dataset.to_table()
    except (pa.ArrowException, OSError) as error:
        raise SparkError(f"{path} is not readable parquet ({str(error)[:120]}).") from None


def _rank_of(table: pa.Table) -> int:
    if table.num_rows == 0:
        raise SparkError("The factors table is empty; the model was trained on no data.")
    return len(table.column("features")[0].as_py())


def _vectors(table: pa.Table, rank: int) -> np.ndarray:
    if "id" not in table.column_names or "features" not in table.column_names:
        raise SparkError(
            f"A factors table needs columns id and features, not {', '.join(table.column_names)}."
        )
    values = pc.list_flatten(table.column("features").combine_chunks()).to_numpy()
    values = np.asarray(values, dtype=np.float32)
    if len(values) != table.num_rows * rank:
        raise SparkError(f"The factors are not all of rank {rank}; the folder is damaged.")
    return values.reshape(table.num_rows, rank)


def _read_id_map(path: Path) -> np.ndarray:
    return _id_array(_read_table(path))


def _mapped(raw: np.ndarray, id_map: np.ndarray, what: str) -> np.ndarray:
    if len(raw) and (raw.min() < 0 or raw.max() >= len(id_map)):
        raise IdAlignmentError(
            f"The {what} factors have index {int(raw.max())} but the {what} id map has "
            f"{len(id_map):,} ids; the folder mixes two trainings, write it again."
        )
    return id_map[raw]


_SPARK_TO_PARAMS = {
    "rank": "rank",
    "maxIter": "maxIter",
    "regParam": "regParam",
    "alpha": "alpha",
    "seed": "seed",
    "implicitPrefs": "implicitPrefs",
    "numUserBlocks": "numUserBlocks",
    "blocks": "blocks",
    "master": "master",
}


def _read_metadata(root: Path) -> tuple[dict[str, Any], str | None]:
    """Spark's parameters from ``metadata/`` (the rank only, for an ALSModel) and from
    ``training_params/`` (what :func:`write_model_dir` adds), and the Spark version."""
    params, version = _read_json_lines(root / "metadata", spark_meta=True)
    trained, _ = _read_json_lines(root / TRAINING_PARAMS, spark_meta=False)
    params.update(trained)
    return params, version


def _read_json_lines(folder: Path, *, spark_meta: bool) -> tuple[dict[str, Any], str | None]:
    if not folder.is_dir():
        return {}, None
    for part in sorted(folder.glob("part-*")):
        try:
            text = part.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if not text:
            continue
        try:
            meta = json.loads(text.splitlines()[0])
        except json.JSONDecodeError:
            continue
        if not isinstance(meta, dict):
            continue
        params: dict[str, Any] = {}
        if spark_meta:
            params.update(meta.get("defaultParamMap") or {})
            params.update(meta.get("paramMap") or {})
            if "rank" in meta:
                params["rank"] = meta["rank"]
        else:
            params.update(meta)
        return {k: params[k] for k in _SPARK_TO_PARAMS if k in params}, meta.get("sparkVersion")
    return {}, None


def read_factors(path: str, *, ids: str = "auto") -> SparkFactors:
    """A model folder's factors: with pyarrow for a local folder, with Spark for a URI."""
    if not is_uri(str(path)) or str(path).startswith("file://"):
        local = str(path)[len("file://") :] if str(path).startswith("file://") else str(path)
        return read_model_dir(local, ids=ids)
    session = get_session()
    from pyspark.ml.recommendation import ALSModel

    try:
        model = ALSModel.load(str(path))
    except Exception as error:
        raise SparkError(
            f"Spark could not load an ALS model from {path} ({first_line(error)})."
        ) from None
    user_table = model.userFactors.toArrow()
    item_table = model.itemFactors.toArrow()
    rank = int(model.rank)
    user_raw = np.asarray(user_table.column("id").to_numpy(), dtype=np.int64)
    item_raw = np.asarray(item_table.column("id").to_numpy(), dtype=np.int64)
    maps = {}
    if ids in ("auto", "maps"):
        for name in (USER_IDS, ITEM_IDS):
            try:
                table = session.read.parquet(f"{path}/{name}").toArrow()
            except Exception:  # noqa: BLE001 - no id maps: the ids are original ids
                break
            maps[name] = table
    if len(maps) == 2:
        user_ids = _mapped(user_raw, _id_array(maps[USER_IDS]), "user")
        item_ids = _mapped(item_raw, _id_array(maps[ITEM_IDS]), "item")
        ids_are = "original"
    else:
        user_ids, item_ids = user_raw.astype(str), item_raw.astype(str)
        ids_are = "index" if ids == "index" else "original"
    params = {
        "rank": rank,
        **{k: _param(model, k) for k in ("maxIter", "regParam", "alpha", "seed", "implicitPrefs")},
    }
    return SparkFactors(
        user_ids=user_ids,
        user_factors=_vectors(user_table, rank),
        item_ids=item_ids,
        item_factors=_vectors(item_table, rank),
        params={k: v for k, v in params.items() if v is not None},
        spark_version=getattr(session, "version", None),
        ids_are=ids_are,
    )


def _id_array(table: pa.Table) -> np.ndarray:
    """An id map table (``index``, ``id``) as an array of ids in index order."""
    return in_index_order(
        table.column("index").to_numpy(), table.column("id").to_numpy(zero_copy_only=False)
    )


def _param(model: Any, name: str) -> Any:
    try:
        return model.getOrDefault(name)
    except Exception:  # noqa: BLE001 - a model without that parameter
        return None
