"""Every parameter a person sets has a label in plain words and a one-line help; the key stays
the key of the URL, the CLI and the store."""

from __future__ import annotations

import pytest

from recsys_core.algorithms import algorithms, loader, parse_params
from recsys_core.algorithms.params import Param, words_of


def every_param():
    """(algorithm, Param) for every registered algorithm, spark-als even when load-only."""
    names = set(algorithms()) | {"spark-als"}
    out = []
    for name in sorted(names):
        cls = loader(name)
        if cls is not None:
            out += [(name, p) for p in cls.params]
    return out


PARAMS = every_param()
PLAIN_KEYS = {"learning_rate"}
"""Keys whose words are already the label ("Learning rate")."""


def test_the_registry_has_the_families_we_label():
    names = {name for name, _ in PARAMS}
    assert {"als", "bpr", "lmf", "item-knn", "ease", "popularity", "svd", "content"} <= names
    assert len(PARAMS) >= 40


@pytest.mark.parametrize(("algorithm", "param"), PARAMS, ids=lambda v: getattr(v, "name", v))
def test_every_param_has_a_declared_label_and_a_one_line_help(algorithm, param):
    label = param.label
    assert label and label.strip() == label
    assert label != param.name
    # declared, not the fallback spelling of the key ("Random state" for random_state), unless
    # the key already is plain words
    if param.name not in PLAIN_KEYS:
        assert label != words_of(param.name), f"{algorithm}.{param.name} needs a label="
    assert "_" not in label, label
    assert len(label) <= 40, label
    assert label[0].isupper(), label
    help_ = param.help
    assert help_ and "\n" not in help_ and len(help_) <= 160, help_
    assert help_[0].isupper() and help_.endswith("."), help_
    assert help_ != label


def test_the_briefs_examples():
    labels = {(name, p.name): p.label for name, p in PARAMS}
    assert labels["als", "factors"] == "Latent factors"
    assert labels["als", "alpha"] == "Confidence scale (alpha)"
    assert labels["als", "random_state"] == "Random seed"
    assert labels["als", "calculate_training_loss"] == "Track training loss"


def test_keys_are_unchanged_for_the_cli_and_the_store():
    # the CLI's --param and the store use the keys; labels never reach them
    params = parse_params("als", {"random_state": "3", "calculate_training_loss": "true"})
    assert params["random_state"] == 3 and params["calculate_training_loss"] is True
    with pytest.raises(Exception, match="no parameter"):
        parse_params("als", {"Random seed": "3"})


def test_label_is_in_the_schema_dict_and_falls_back_to_words():
    declared = Param("alpha", float, 1.0, "Help.", label="Confidence scale (alpha)")
    assert declared.to_dict()["label"] == "Confidence scale (alpha)"
    assert Param("max_sampled", int, 1, "Help.").label == "Max sampled"
    assert Param("regParam", float, 1.0, "Help.").label == "Reg param"
    # positional fields keep their places (low, high after help)
    assert Param("k", int, 5, "Help.", 1, 10).high == 10
