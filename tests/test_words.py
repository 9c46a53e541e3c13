"""recsys_core.words: every key evaluation, overlap, projection and the Embeddings colourings
produce has plain words and a one-line help; splits read as sentences; unknown keys fall back
to themselves."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from recsys_core import evaluation, overlap, projection, words
from recsys_core.algorithms import algorithms
from recsys_core.datasets import demo as demo_source
from recsys_core.split import make_split
from recsys_core.words import overlaps, protocols

NOT_READ_AS_METRICS = {
    "conventions",
    "metrics_version",
    "relabelled_from_version",
    "fingerprint",
    "versions",
}
"""Summary and protocol fields that are metadata, not numbers a person reads in a table."""


@pytest.fixture(scope="module")
def small_demo():
    return demo_source.generate(0, n_users=300, n_items=240, n_likes=6_000)


@pytest.fixture(scope="module")
def evaluated(small_demo):
    return evaluation.evaluate_model(
        small_demo,
        "als",
        {"factors": 8, "iterations": 3},
        "holdout:2",
        k=5,
        seed=0,
        full_auc=True,
    )


def _check_words(key: str, label: str, help_: str) -> None:
    assert label and label != key, key
    assert "_" not in label, label
    assert help_ and "\n" not in help_ and len(help_) <= 180, (key, help_)
    assert help_[0].isupper() or help_[0].isdigit(), help_
    assert help_.endswith("."), help_


# ------------------------------------------------------------------------------------- metrics
def test_every_key_an_evaluation_produces_has_words(small_demo, evaluated):
    summary = evaluated.summary()
    keys = set(summary) | set(evaluated.per_user.columns) | set(evaluated.protocol)
    keys |= set(evaluation.METRICS) | set(evaluation.METRIC_INFO) | set(evaluation.SLICE_METRICS)
    split = make_split(small_demo, "holdout:2", random_state=0)
    slices = evaluation.slice_metrics(evaluated.model, split.train, split.test, 5)
    keys |= set(slices.columns)
    curve = evaluation.learning_curve(
        small_demo,
        "als",
        {"factors": 8, "iterations": 2, "calculate_training_loss": True},
        "holdout:2",
        k=5,
        max_users=100,
    )
    keys |= set(curve["metric"])
    assert {"precision", "precision_implicit", "auc_full", "mse", "personalisation"} <= keys
    for key in sorted(keys - NOT_READ_AS_METRICS):
        _check_words(key, *words.metric_label(key))


def test_the_two_precisions_say_which_is_which():
    assert words.metric_label("precision")[0] == "Precision (hits / k)"
    assert words.metric_label("precision_implicit")[0] == (
        "Precision, implicit's convention (hits / min(k, held-out))"
    )
    # the name metrics version 1 kept hits / k under
    assert words.metric_label("precision_k") == words.metric_label("precision")
    assert words.metric_label("ndcg@10")[0] == "NDCG (ranking quality) in the top 10"


def test_labels_are_distinct_within_a_table():
    labels = [words.metric_label(key)[0] for key in evaluation.METRICS]
    assert len(set(labels)) == len(labels)


# -------------------------------------------------------------------------------------- splits
@pytest.mark.parametrize(
    ("spec", "k", "seed", "expected"),
    [
        ("holdout:5", 10, 0, "5 held-out likes per user · seed 0 · top 10"),
        ("holdout:5:seed=0@k=10", None, None, "5 held-out likes per user · seed 0 · top 10"),
        ("holdout:1", None, 3, "1 held-out like per user · seed 3"),
        ("holdout:5:0.5", 10, 0, "5 held-out likes for 50% of users · seed 0 · top 10"),
        ("random:0.2", 10, 0, "Random 20% held out · seed 0 · top 10"),
        ("random:0.125:seed=4@k=20", None, None, "Random 12.5% held out · seed 4 · top 20"),
        ("leave-last:1", 10, 0, "Leave the last like out · top 10"),
        ("leave-last:3:seed=0@k=5", None, None, "Leave the last 3 likes out · top 5"),
        ("u1", 10, 0, "MovieLens split u1 · top 10"),
        ("ua:seed=0@k=10", None, None, "MovieLens split ua · top 10"),
        ("split=holdout:5:seed=0", None, None, "5 held-out likes per user · seed 0"),
        ("given:seed=None@k=10", None, None, "Train and test given · top 10"),
        ("Holdout: 5", None, None, "5 held-out likes per user"),
        ("my-split", 5, None, "Predefined split my-split · top 5"),
    ],
)
def test_split_labels(spec, k, seed, expected):
    assert words.split_label(spec, k=k, seed=seed) == expected


def test_explicit_k_and_seed_override_a_stored_key():
    assert words.split_label("holdout:5:seed=0@k=10", k=20, seed=2) == (
        "5 held-out likes per user · seed 2 · top 20"
    )


def test_the_stored_protocol_key_of_an_evaluation_reads_as_words(evaluated):
    key = evaluated.protocol_key()
    assert key == "holdout:2:seed=0@k=5"
    assert words.split_label(key) == "2 held-out likes per user · seed 0 · top 5"
    variant = evaluation.split_variant("holdout:2", 0)
    assert words.split_label(variant) == "2 held-out likes per user · seed 0"


@pytest.mark.parametrize(
    "spec",
    [
        "holdout:5",
        "holdout:1:0.5",
        "random:0.2",
        "leave-last:1",
        "leave-last:4",
        "u3",
        "ub",
        "given",
        "holdout:5:seed=0@k=10",
    ],
)
def test_every_split_has_a_one_line_help(spec):
    help_ = words.split_help(spec)
    assert help_ and "\n" not in help_ and help_.endswith(".") and len(help_) <= 180


def test_split_help_says_how_many():
    assert words.split_help("holdout:5") == (
        "For every user with at least 10 likes, 5 random likes are hidden from training; the "
        "model has to find them."
    )
    assert "it." in words.split_help("leave-last:1")


def test_movielens_split_names_match_the_loader():
    from recsys_core.datasets.movielens import SPLITS_100K

    assert protocols.MOVIELENS_SPLITS == SPLITS_100K


# ---------------------------------------------------------------------------------- overlaps
def test_every_overlap_and_alignment_key_has_words():
    table = overlap.pairwise_overlap({"a": [1, 2, 3], "b": [3, 2, 9]})
    keys = set(table.columns)
    fields = {field.name for field in dataclasses.fields(projection.Alignment)}
    assert "disparity" in fields
    keys.add("disparity")
    for key in sorted(keys):
        _check_words(key, *words.overlap_label(key))


def test_rbo_says_it_weighs_the_top():
    label, help_ = words.overlap_label("rbo")
    assert f"{label}: {help_}".startswith("Rank-biased overlap: Agreement weighted toward the top")
    # the share carried by the first 10 ranks at p = 0.9 (Webber et al.: about 86%)
    assert overlaps.rbo_top_weight(0.9, 10) == pytest.approx(0.8556, abs=1e-4)
    assert "86%" in help_
    assert words.overlap_label("disparity")[0] == "Map difference after alignment (0 = same shape)"


# ---------------------------------------------------------------------------------- colourings
def test_every_embeddings_colouring_has_words(small_demo):
    from recsys_core.ui import embeddings_controls as embeddings

    keys = set(embeddings.colour_modes(small_demo, "items"))
    keys |= set(embeddings.colour_modes(small_demo, "users"))
    keys |= set(getattr(embeddings, "COLOUR_LABELS", {}))
    assert {"category", "group", "tag", "popularity", "activity"} <= keys
    for key in sorted(keys):
        _check_words(key, *words.colour_label(key))
    assert words.colour_label("group")[0] == "Taste group"


# --------------------------------------------------------------------------------- taste groups
def test_user_groups_read_as_named_taste_groups_in_numeric_order(small_demo):
    names = small_demo.extras["group_labels"]
    values = small_demo.users["group"].to_numpy()
    labels = words.group_labels(values, names)
    assert len(labels) == len(values)
    distinct = sorted(set(labels), key=words.natural_key)
    numbers = [int(label.split()[2]) for label in distinct]
    assert numbers == sorted(numbers) and numbers[0] >= 1
    first = int(np.min(values))
    assert words.group_label(first, names) == f"Taste group {first + 1} ({names[first]})"
    # a digit string (a CSV column) reads the same as the int
    assert words.group_label(str(first), names) == words.group_label(first, names)
    # the items' groups and names match the users'
    item_group = int(small_demo.items["group"].iloc[0])
    assert small_demo.items["group_label"].iloc[0] in words.group_label(item_group, names)


def test_group_labels_without_names_and_odd_values():
    assert words.group_label(0) == "Taste group 1"
    assert words.group_label(np.int64(9)) == "Taste group 10"
    assert words.group_label("3|7") == "Taste groups 4 and 8"
    assert words.group_label("Sci-fi fans") == "Sci-fi fans"
    assert words.group_label(None) == ""
    assert words.group_label(-1) == "-1"
    assert words.group_label(2, names=["a"]) == "Taste group 3"


def test_natural_key_sorts_numbers_by_value():
    raw = [str(i) for i in (0, 1, 10, 11, 2, 20, 3)]
    assert sorted(raw, key=words.natural_key) == ["0", "1", "2", "3", "10", "11", "20"]
    groups = ["Taste group 10", "Taste group 2", "taste group 1"]
    assert sorted(groups, key=words.natural_key) == [
        "taste group 1",
        "Taste group 2",
        "Taste group 10",
    ]


# ------------------------------------------------------------------------- algorithms, fallback
def test_param_and_algorithm_labels():
    assert words.param_label("als", "alpha")[0] == "Confidence scale (alpha)"
    assert words.param_label("als", "random_state")[0] == "Random seed"
    assert words.algorithm_label("als") == "ALS (WRMF)"


@pytest.mark.parametrize(
    "key",
    ["", "no_such_metric", None, 3, ":::", "holdout:x", "seed=@k=", "@k=", "split="],
)
def test_unknown_keys_fall_back_to_themselves(key):
    text = "" if key is None else str(key)
    assert words.metric_label(key) == (str(key), "")
    assert words.overlap_label(key) == (str(key), "")
    assert words.colour_label(key) == (str(key), "")
    assert words.param_label("als", key) == (str(key), "")
    assert words.param_label("no-such-algorithm", "alpha") == ("alpha", "")
    assert words.algorithm_label(key) == str(key)
    assert isinstance(words.split_label(key), str)
    assert isinstance(words.split_help(key), str)
    assert isinstance(words.group_label(key), str)
    if key not in (None, ""):
        assert words.split_label(key, k=10) in (text, f"{text} · top 10") or (
            words.split_label(key, k=10).startswith("Predefined split")
        )


def test_words_does_not_import_streamlit():
    import subprocess
    import sys

    code = (
        "import sys, recsys_core.words as w; w.split_label('u1'); print('streamlit' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------ additions: params, names, short
def test_params_label_reads_the_schema_in_words():
    params = {
        "factors": 40,
        "alpha": 50.0,
        "iterations": 15,
        "regularization": 0.01,
        "random_state": 3,
        "calculate_training_loss": True,
    }
    assert words.params_label("als", params, limit=2, changed_only=True) == (
        "latent factors 40, confidence scale (alpha) 50 …"
    )
    assert words.params_label("als", params, limit=5, changed_only=True) == (
        "latent factors 40, confidence scale (alpha) 50, track training loss"
    )
    # seeds and thread counts never show; defaults are left out when only changes are asked
    assert words.params_label("als", {"random_state": 7}, changed_only=True) == ""
    assert (
        words.params_label(
            "lightfm", {"use_item_features": True, "num_threads": 4}, changed_only=True
        )
        == "use categories and tags"
    )
    assert words.params_label("item-knn", {"K": 30}) == "neighbours per item (K) 30"
    assert words.params_label("no-such", {"a_b": 1}) == "a_b 1"  # unknown: the key, as is
    assert words.params_label("als", None) == ""
    for name, cls in algorithms().items():
        text = words.params_label(name, {p.name: p.default for p in cls.params}, limit=99)
        assert "_" not in text and "=" not in text, (name, text)


def test_dataset_names_for_sentences():
    assert words.dataset_name("movielens-100k") == "MovieLens 100k"
    assert words.dataset_name("movielens-1m") == "MovieLens 1M"
    assert words.dataset_name("movielens-latest-small") == "MovieLens latest-small"
    assert words.dataset_name("demo") == "the demo data"
    assert words.dataset_name("upload:abc") == "upload:abc"


def test_short_metric_labels_fit_a_header_and_keep_the_two_precisions_apart():
    for key in (*evaluation.METRICS, "fit_seconds"):
        short = words.metric_short(key)
        assert short and "_" not in short and len(short) <= 22, (key, short)
    assert words.metric_short("precision") == "Precision (hits / k)"
    assert words.metric_short("precision_implicit") == "Implicit's precision"
    assert words.metric_short("precision_k") == "Precision (hits / k)"  # the old key
    assert words.metric_short("no_such") == "no_such"
    shorts = [words.metric_short(k) for k in evaluation.METRICS]
    assert len(set(shorts)) == len(shorts)


def test_a_steered_protocol_key_reads_as_words_and_the_separator_is_the_reranks():
    from recsys_core import rerank

    assert words.RERANK_SEPARATOR == rerank.KEY_SEPARATOR
    key = rerank.protocol_key_with("holdout:5:seed=0@k=10", "popularity=0.5,diversity=0.3")
    assert words.split_label(key) == (
        "5 held-out likes per user · seed 0 · top 10 · steered: popularity 0.5, diversity 0.3"
    )
