"""spark-als, Spark sessions, parquet training and export-factors (issue #7).

Tests marked ``spark`` start Spark in local mode (``local[1]``, two shuffle partitions, no UI,
bound to 127.0.0.1) on small data; they are skipped with the reason where pyspark or Java is
absent. The rest check what needs no Spark at all: the errors, the id alignment, the Spark
equations of the fold-in, and reading a Spark model folder with pyarrow alone (a stored
spark-als model must open where pyspark is not installed).
"""

from __future__ import annotations

import io
import json
import os
import socket
import stat
import subprocess
import sys
import time
from contextlib import redirect_stdout

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recsys_core import algorithms, spark
from recsys_core.algorithms.spark_als import SparkALS
from recsys_core.dataset import Dataset
from recsys_core.errors import ParameterError
from recsys_core.spark import IdAlignmentError, SparkError
from recsys_core.spark.imports import export_factors, store_factors
from recsys_core.spark.session import (
    JAVA_OPTIONS_ENV,
    TIMEOUT_ENV,
    check_reachable,
    pyspark_missing_message,
)
from recsys_core.store import ModelStore

HAVE_PYSPARK = spark.pyspark_available()
HAVE_JAVA = spark.find_java() is not None
needs_spark = [
    pytest.mark.spark,
    pytest.mark.skipif(
        not HAVE_PYSPARK, reason="pyspark is not installed (pip install -r requirements-spark.txt)"
    ),
    pytest.mark.skipif(not HAVE_JAVA, reason="Java 17+ is not installed (Spark needs it)"),
]
MASTER = "local[1]"
FAST = {"rank": 4, "maxIter": 10, "regParam": 0.5, "alpha": 10.0, "master": MASTER, "blocks": 2}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _apply(decorators):
    def wrap(function):
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return wrap


def _cli(*argv: str) -> tuple[int, str]:
    from recsys_core.cli import main

    out = io.StringIO()
    with redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


# ---------------------------------------------------------------------------- small data
def _frame(seed: int = 3) -> pd.DataFrame:
    """Two taste groups of 12 users x 10 items, text ids that do not sort like numbers."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(24):
        group = user // 12
        own = np.arange(10) + 10 * group
        for item in rng.choice(own, 7, replace=False):
            rows.append((f"user-{user}", f"item-{item}", float(rng.integers(1, 4))))
        other = rng.integers(0, 20)
        rows.append((f"user-{user}", f"item-{other}", 1.0))
    return pd.DataFrame(rows, columns=["user", "item", "weight"])


def _dataset(frame: pd.DataFrame | None = None) -> Dataset:
    frame = _frame() if frame is None else frame
    items = pd.DataFrame(
        {
            "item_id": sorted(set(frame["item"])),
            "name": [f"model {i}" for i in sorted(set(frame["item"]))],
        }
    )
    return Dataset.from_frame("tiny", frame, items)


def _write_factor_folder(folder, ids, vectors, kind: str) -> None:
    (folder / kind).mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "id": pa.array(np.asarray(ids, dtype=np.int32)),
            "features": pa.array(
                [list(map(float, v)) for v in vectors], type=pa.list_(pa.float32())
            ),
        }
    )
    pq.write_table(table, folder / kind / "part-00000.snappy.parquet")


def _write_als_folder(folder, user_ids, user_vectors, item_ids, item_vectors, rank) -> None:
    """What ALSModel.save writes (metadata + userFactors/ + itemFactors/), made with pyarrow."""
    (folder / "metadata").mkdir(parents=True)
    meta = {
        "class": "org.apache.spark.ml.recommendation.ALSModel",
        "sparkVersion": "4.1.1",
        "paramMap": {"userCol": "user"},
        "defaultParamMap": {"blockSize": 4096},
        "rank": rank,
    }
    (folder / "metadata" / "part-00000").write_text(json.dumps(meta) + "\n")
    (folder / "metadata" / "_SUCCESS").write_text("")
    _write_factor_folder(folder, user_ids, user_vectors, "userFactors")
    _write_factor_folder(folder, item_ids, item_vectors, "itemFactors")


# ------------------------------------------------------------------------------- the layers
@pytest.mark.parametrize(
    ("first", "then"),
    [
        ("recsys_core.spark", "recsys_core.spark.train"),
        ("recsys_core.algorithms", "recsys_core.spark.imports"),
        ("recsys_core.spark.imports", "recsys_core.algorithms"),
        ("recsys_core.algorithms.spark_als", "recsys_core.cli.spark_cmds"),
    ],
)
def test_the_spark_engine_imports_neither_the_store_nor_the_algorithms(first, then):
    """spark-als uses the engine and spark.imports uses spark-als: both orders of import work,
    and the engine alone (what spark-als imports) brings in neither the store nor a model."""
    code = (
        "import sys, importlib; import recsys_core.spark.session, recsys_core.spark.als; "
        "print(sorted(m for m in sys.modules if m in ('recsys_core.store', "
        "'recsys_core.algorithms', 'recsys_core.spark.imports'))); "
        f"importlib.import_module({first!r}); importlib.import_module({then!r}); "
        "print(importlib.import_module('recsys_core.algorithms').loader('spark-als') is not None)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["[]", "True"]


# ------------------------------------------------------------------- errors (no Spark needed)
def test_masters_resolve_and_spark_remote_replaces_the_default(monkeypatch):
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    assert spark.resolve_master(None) == spark.Master("local", "local[*]")
    assert spark.resolve_master("local[2]").is_local
    assert spark.resolve_master("spark://h:7077").kind == "cluster"
    assert spark.resolve_master("sc://h:15002") == spark.Master("connect", "sc://h:15002")
    with pytest.raises(SparkError, match="is not a Spark master"):
        spark.resolve_master("http://h:7077")
    monkeypatch.setenv("SPARK_REMOTE", "sc://remote:15002")
    assert spark.resolve_master("local[*]") == spark.Master("connect", "sc://remote:15002")
    with pytest.raises(SparkError, match="both set"):
        spark.resolve_master("spark://h:7077")


@pytest.mark.parametrize("scheme", ["spark", "sc"])
def test_unreachable_master_is_one_sentence_within_the_timeout(monkeypatch, scheme):
    monkeypatch.setenv(TIMEOUT_ENV, "2")
    master = spark.resolve_master(f"{scheme}://127.0.0.1:{_closed_port()}")
    start = time.perf_counter()
    with pytest.raises(SparkError) as raised:
        check_reachable(master)
    assert time.perf_counter() - start < 3
    message = str(raised.value)
    assert "unreachable" in message and "127.0.0.1" in message and message.count(". ") == 0


def test_missing_or_old_java_is_one_sentence(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    with pytest.raises(SparkError, match="JAVA_HOME=.*no bin/java"):
        spark.require_java()
    monkeypatch.delenv("JAVA_HOME")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SparkError, match="no java is on the PATH.*openjdk-17"):
        spark.require_java()
    fake = tmp_path / "jdk" / "bin" / "java"
    fake.parent.mkdir(parents=True)
    fake.write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    with pytest.raises(SparkError, match="Java 11"):
        spark.require_java()


def test_missing_pyspark_is_one_sentence_and_stored_models_still_load(monkeypatch, fresh_home):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark now fails
    with pytest.raises(SparkError, match="requirements-spark.txt"):
        spark.require_pyspark()
    with pytest.raises(SparkError, match="requirements-spark.txt"):
        spark.get_session(MASTER)
    # the registry as it is where pyspark is absent: load-only
    algorithms.algorithms()  # the registry filled, then a copy to change
    monkeypatch.setattr(algorithms.registry, "_REGISTRY", dict(algorithms.registry._REGISTRY))
    algorithms.register_load_only(SparkALS, pyspark_missing_message("Training spark-als"))
    assert "spark-als" not in algorithms.algorithms()
    with pytest.raises(ParameterError, match="needs pyspark.*requirements-spark.txt"):
        algorithms.parse_params("spark-als", {"rank": "8"})
    dataset = _dataset()
    rng = np.random.default_rng(0)
    model = SparkALS.from_factors(
        rng.normal(size=(dataset.n_users, 3)), rng.normal(size=(dataset.n_items, 3)), {}
    )
    store = ModelStore()
    model_id = store.save(model, dataset)
    loaded = store.load(model_id, dataset)
    assert type(loaded) is SparkALS and store.list()[0].ok
    for a, b in zip(model.similar_items(np.arange(5), 4), loaded.similar_items(np.arange(5), 4)):
        np.testing.assert_array_equal(a, b)
    model.attach(dataset.interactions)
    np.testing.assert_array_equal(loaded.recommend(0, 5)[0], model.recommend(0, 5)[0])


# ------------------------------------------------------------- the model (no Spark needed)
def test_fold_in_and_explain_follow_sparks_normal_equations():
    dataset = _dataset()
    rng = np.random.default_rng(1)
    y = rng.normal(0, 0.3, (dataset.n_items, 5)).astype(np.float32)
    params = {"regParam": 0.2, "alpha": 7.0}
    model = SparkALS.from_factors(np.zeros((dataset.n_users, 5)), y, params)
    model.attach(dataset.interactions)
    row = dataset.interactions[4]
    ys = y[row.indices].astype(np.float64)
    c = 1.0 + 7.0 * row.data
    # Spark's implicit ALS: YtY + Y'(C - I)Y + regParam * n_u * I,  b = Y' C p
    a = y.T.astype(np.float64) @ y + (ys.T * (c - 1)) @ ys + 0.2 * len(c) * np.eye(5)
    user = np.linalg.solve(a, ys.T @ c)
    np.testing.assert_allclose(model.fold_in(row)[0], user, rtol=1e-5, atol=1e-6)
    items, scores = model.recommend_for_history(row.indices, 3, weights=row.data)
    np.testing.assert_allclose(scores, (y @ user)[items], rtol=1e-4)
    model.user_factors_[4] = user
    item = int(model.recommend(4, 1)[0][0])
    contributions = c * (ys @ np.linalg.solve(a, y[item].astype(np.float64)))
    np.testing.assert_allclose(contributions.sum(), user @ y[item], rtol=1e-5)
    explained, shares = model.explain(4, item, k=len(c))
    positive = np.clip(contributions, 0, None)
    order = np.lexsort((row.indices, -contributions))
    np.testing.assert_array_equal(explained, row.indices[order])
    np.testing.assert_allclose(shares, positive[order] / positive.sum(), rtol=1e-5)


def test_align_factors_reorders_and_reports():
    ids = np.array(["c", "a", "z"])
    vectors = np.arange(6, dtype=np.float32).reshape(3, 2)
    aligned = spark.align_factors(ids, vectors, np.array(["a", "b", "c"]))
    np.testing.assert_array_equal(aligned.vectors, [[2, 3], [0, 0], [0, 1]])
    assert aligned.found.tolist() == [True, False, True]
    assert (aligned.n_missing, aligned.n_extra) == (1, 1)
    with pytest.raises(IdAlignmentError, match="more than once"):
        spark.align_factors(np.array(["a", "a"]), vectors[:2], np.array(["a"]))


def test_export_factors_reads_an_als_folder_with_pyarrow_alone(monkeypatch, tmp_path, fresh_home):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # no Spark is used
    frame = _frame().assign(
        user=lambda f: f["user"].str.replace("user-", ""),
        item=lambda f: f["item"].str.replace("item-", ""),
    )
    dataset = _dataset(frame)  # numeric ids, as an ALS trained on raw integer ids has
    rng = np.random.default_rng(2)
    users = rng.permutation(dataset.user_ids.astype(int))
    items = rng.permutation(dataset.item_ids.astype(int))
    user_vectors = rng.normal(size=(len(users), 3)).astype(np.float32)
    item_vectors = rng.normal(size=(len(items), 3)).astype(np.float32)
    folder = tmp_path / "als"
    _write_als_folder(folder, users, user_vectors, items, item_vectors, 3)
    stored = export_factors(str(folder), dataset, params={"regParam": 0.3})
    model = stored.model
    for row, raw in enumerate(items):  # every factor row lands on its own id
        np.testing.assert_array_equal(
            model.item_factors_[dataset.item_index(str(raw))], item_vectors[row]
        )
    np.testing.assert_array_equal(
        model.user_factors_[dataset.user_index(str(users[0]))], user_vectors[0]
    )
    assert stored.missing_items == stored.extra_items == stored.missing_users == 0
    meta = ModelStore().meta(stored.model_id)
    assert meta["algorithm"] == "spark-als" and meta["params"]["rank"] == 3
    assert meta["params"]["regParam"] == 0.3 and meta["extra"]["spark_version"] == "4.1.1"
    # ids that are the dataset's matrix indices
    _write_als_folder(
        tmp_path / "idx",
        np.arange(dataset.n_users),
        user_vectors,
        np.arange(dataset.n_items),
        item_vectors,
        3,
    )
    by_index = export_factors(str(tmp_path / "idx"), dataset, ids="index").model
    np.testing.assert_array_equal(by_index.item_factors_, item_vectors)


def test_factors_that_do_not_line_up_are_refused_in_one_sentence(tmp_path, fresh_home):
    dataset = _dataset()
    rng = np.random.default_rng(4)
    u = rng.normal(size=(dataset.n_users, 2)).astype(np.float32)
    v = rng.normal(size=(dataset.n_items, 2)).astype(np.float32)
    params = {"rank": 2}
    with pytest.raises(IdAlignmentError, match="None of the 20 item ids of tiny"):
        store_factors(
            dataset.user_ids, u, np.array([f"x{i}" for i in range(20)]), v, dataset, params
        )
    with pytest.raises(
        IdAlignmentError, match="1 of the 20 items of tiny have no factors.*--allow-missing"
    ):
        store_factors(dataset.user_ids, u, dataset.item_ids[1:], v[1:], dataset, params)
    stored = store_factors(
        dataset.user_ids[2:],
        u[2:],
        dataset.item_ids[1:],
        v[1:],
        dataset,
        params,
        allow_missing=True,
    )
    assert (stored.missing_items, stored.missing_users, stored.folded_users) == (1, 2, 2)
    model = stored.model
    assert not model.item_factors_[0].any()
    np.testing.assert_allclose(model.user_factors_[:2], model.fold_in(dataset.interactions[:2]))
    _write_als_folder(tmp_path / "far", np.arange(dataset.n_users), u, np.arange(99, 119), v, 2)
    with pytest.raises(IdAlignmentError, match="index 118 but tiny has 20 items"):
        export_factors(str(tmp_path / "far"), dataset, ids="index")


def test_export_factors_cli_stores_a_browsable_model(tmp_path, fresh_home):
    frame = _frame()
    csv = tmp_path / "likes.csv"
    frame.to_csv(csv, index=False)
    from recsys_core.datasets import load_dataset

    dataset = load_dataset(str(csv))
    rng = np.random.default_rng(5)
    user_vectors = rng.normal(size=(dataset.n_users, 4)).astype(np.float32)
    item_vectors = rng.normal(size=(dataset.n_items, 4)).astype(np.float32)
    folder = tmp_path / "trained"
    _write_als_folder(
        folder,
        np.arange(dataset.n_users),
        user_vectors,
        np.arange(dataset.n_items),
        item_vectors,
        4,
    )
    for name, ids in (("user_ids", dataset.user_ids), ("item_ids", dataset.item_ids)):
        (folder / name).mkdir()
        pq.write_table(
            pa.table({"index": np.arange(len(ids), dtype=np.int32), "id": ids}),
            folder / name / "part-00000.parquet",
        )
    code, out = _cli("export-factors", str(folder), "--dataset", str(csv), "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["n_items"] == dataset.n_items and payload["missing_items"] == 0
    code, out = _cli("similar", payload["model_id"], "item-3", "-k", "3", "--json")
    assert code == 0
    got = [item["item_id"] for item in json.loads(out)["items"]]
    normed = item_vectors / np.linalg.norm(item_vectors, axis=1, keepdims=True)
    cosine = normed @ normed[dataset.item_index("item-3")]
    cosine[dataset.item_index("item-3")] = -np.inf
    assert got == [dataset.item_id(int(i)) for i in np.argsort(-cosine)[:3]]
    code, _ = _cli("export-factors", str(tmp_path / "nowhere"), "--dataset", str(csv))
    assert code == 2


# -------------------------------------------------------------------------- Spark, local mode
@pytest.fixture(scope="module")
def session():
    if not (HAVE_PYSPARK and HAVE_JAVA):
        pytest.skip("pyspark or Java is not installed")
    previous = os.environ.get(JAVA_OPTIONS_ENV)
    # C1 only: small jobs start about twice as fast (the JVM flag matters only if we start it)
    os.environ[JAVA_OPTIONS_ENV] = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
    try:
        yield spark.get_session(MASTER, {"spark.sql.shuffle.partitions": "2"})
    finally:
        if previous is None:
            os.environ.pop(JAVA_OPTIONS_ENV, None)
        else:
            os.environ[JAVA_OPTIONS_ENV] = previous
        spark.stop_session()


@_apply(needs_spark)
def test_spark_als_trains_locally_and_behaves_like_a_latent_model(session, fresh_home):
    from recsys_core.training import fit_model

    dataset = _dataset()
    fractions: list[float] = []
    model = fit_model(dataset, "spark-als", FAST, progress=lambda f, m: fractions.append(f))
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert model.user_factors_.shape == (dataset.n_users, 4)
    assert np.abs(model.item_factors_).sum(axis=1).min() > 0
    # the final user factors are Spark's exact solve given the item factors: the fold-in of a
    # training user's history gives them back
    np.testing.assert_allclose(
        model.fold_in(dataset.interactions), model.user_factors_, rtol=1e-3, atol=1e-5
    )
    groups = np.array([int(i.split("-")[1]) // 10 for i in dataset.item_ids])
    neighbours, _ = model.similar_items(np.arange(dataset.n_items), 3)
    assert (groups[neighbours] == groups[:, None]).mean() >= 0.9
    top, _ = model.recommend(np.arange(dataset.n_users), 3)
    user_groups = np.array([int(u.split("-")[1]) // 12 for u in dataset.user_ids])
    assert (groups[top] == user_groups[:, None]).mean() >= 0.9
    again = fit_model(dataset, "spark-als", FAST)
    np.testing.assert_array_equal(again.item_factors_, model.item_factors_)  # seeded, 2 blocks


@_apply(needs_spark)
def test_master_unreachable_fails_before_spark_starts(session, monkeypatch):
    from recsys_core.training import fit_model

    monkeypatch.setenv(TIMEOUT_ENV, "1")
    with pytest.raises(SparkError, match="unreachable"):
        fit_model(
            _dataset(), "spark-als", {**FAST, "master": f"spark://127.0.0.1:{_closed_port()}"}
        )


@_apply(needs_spark)
def test_spark_train_reads_parquet_on_spark_and_aligns_to_the_dataset(
    session, tmp_path, fresh_home
):
    from recsys_core.training import fit_model

    frame = _frame()
    csv = tmp_path / "likes.csv"
    frame.to_csv(csv, index=False)
    # the same interactions as a parquet folder in two files, with other column names, a
    # pair split in two rows (summed on Spark's side), identical rows (counted once, as the file
    # loader does), a null id and a zero weight
    spark_rows = frame.rename(
        columns={"user": "customer_id", "item": "product_id", "weight": "plays"}
    )
    first = spark_rows.iloc[[0]].assign(plays=spark_rows["plays"].iloc[0] - 0.25)
    extra = pd.DataFrame(
        {"customer_id": [None, "user-1"], "product_id": ["item-1", "item-2"], "plays": [1.0, 0.0]}
    )
    parquet = tmp_path / "interactions"
    parquet.mkdir()
    halves = [
        pd.concat([first, spark_rows.iloc[1:40]]),
        pd.concat([spark_rows.iloc[[0]].assign(plays=0.25), spark_rows.iloc[40:], extra]),
    ]
    for n, part in enumerate(halves):
        pq.write_table(
            pa.Table.from_pandas(part, preserve_index=False), parquet / f"part-{n}.parquet"
        )
    out = tmp_path / "spark-model"
    args = ["spark-train", str(parquet), "--dataset", str(csv), "--output", str(out), "--json"]
    for key, value in FAST.items():
        args += ["--param", f"{key}={value}"]
    code, printed = _cli(*args)
    assert code == 0
    payload = json.loads(printed)
    from recsys_core.datasets import load_dataset

    dataset = load_dataset(str(csv))
    assert (payload["n_users"], payload["n_items"]) == (dataset.n_users, dataset.n_items)
    assert payload["n_interactions"] == dataset.n_interactions
    assert payload["missing_users"] == payload["extra_items"] == 0
    stored = ModelStore().load(payload["model_id"], dataset)
    # Spark indexed the ids as text, as the Dataset does: the same factors as training the
    # adapter on the dataset's own matrix
    direct = fit_model(dataset, "spark-als", FAST)
    np.testing.assert_allclose(stored.item_factors_, direct.item_factors_, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(stored.user_factors_, direct.user_factors_, rtol=1e-4, atol=1e-6)
    # the folder it wrote: ALSModel layout + id maps + training parameters, read without Spark
    factors = spark.read_model_dir(out)
    assert factors.params["maxIter"] == FAST["maxIter"] and factors.params["alpha"] == 10.0
    exported = export_factors(str(out), dataset)
    np.testing.assert_array_equal(exported.model.item_factors_, stored.item_factors_)
    assert ModelStore().meta(exported.model_id)["params"]["regParam"] == FAST["regParam"]
    code, _ = _cli("spark-train", str(tmp_path / "missing.parquet"), "--dataset", str(csv))
    assert code == 2


def test_train_verb_reads_a_parquet_file_with_spark_and_stores_a_model(
    session, tmp_path, fresh_home
):
    """``train FILE.parquet spark-als``: read by Spark, ids indexed on Spark's side, the id maps
    written beside the factors, and an ordinary stored model aligned to the file's own ids."""
    from recsys_core.datasets import load_dataset

    path = tmp_path / "likes.parquet"
    pq.write_table(pa.Table.from_pandas(_frame(), preserve_index=False), path)
    args = ["train", str(path), "spark-als", "--json"]
    for key, value in FAST.items():
        args += ["--param", f"{key}={value}"]
    code, printed = _cli(*args)
    assert code == 0
    payload = json.loads(printed)
    dataset = load_dataset(str(path))
    model = ModelStore().load(payload["model_id"], dataset)
    assert model.item_vectors().shape == (dataset.n_items, FAST["rank"])
    written = spark.read_model_dir(fresh_home / "spark" / "likes")
    assert written.params["rank"] == FAST["rank"]
