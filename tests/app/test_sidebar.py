"""The shared sidebar: pick a dataset, train a model from the form, browse an upload."""

from __future__ import annotations

import pytest

from recsys_core.datasets.uploads import save_upload
from recsys_core.errors import DatasetError
from recsys_core.store import ModelStore

from .helpers import open_page, shown


def test_train_form_trains_a_model_and_selects_it(app_models):
    at = open_page("similar", dataset="demo")
    assert not at.exception
    at.selectbox(key="train_algorithm").select("popularity").run()
    form_buttons = [b for b in at.get("form_submit_button") if b.label == "Train"]
    assert form_buttons, "the train form has a Train button"
    at.checkbox(key="param_popularity_weighted").check()
    form_buttons[0].click().run()
    assert not at.exception, at.exception
    model_id = at.query_params["model"]
    model_id = model_id[0] if isinstance(model_id, list) else model_id
    meta = ModelStore().meta(model_id)
    assert meta["algorithm"] == "popularity" and meta["params"]["weighted"] is True


def test_form_is_generated_from_the_schema(app_models):
    at = open_page("similar", dataset="demo")
    at.selectbox(key="train_algorithm").select("als").run()
    assert at.number_input(key="param_als_factors").value == 64
    at.selectbox(key="train_preset_als").select("sketchfab-best").run()
    assert at.number_input(key="param_als_sketchfab-best_factors").value == 40
    assert at.number_input(key="param_als_sketchfab-best_alpha").value == 50
    assert at.number_input(key="param_als_sketchfab-best_iterations").value == 22


def test_ratings_only_algorithm_is_refused_with_a_reason(app_models):
    at = open_page("similar", dataset="demo")
    at.selectbox(key="train_algorithm").select("biased-mf").run()
    assert any("needs explicit ratings" in w.value for w in at.warning)


def test_an_uploaded_file_becomes_the_dataset(app_models):
    data = b"user,item,weight\nu1,a,1\nu1,b,2\nu2,a,1\nu2,c,1\nu3,b,1\nu3,c,3\n"
    items = b"item_id,name,category\na,Alpha,x\nb,Beta,y\nc,Gamma,x\n"
    spec = save_upload(data, "likes.csv", items, "items.csv")
    at = open_page("start", dataset=spec)
    assert not at.exception
    assert any("3 users" in c.value for c in at.sidebar.caption)
    assert at.selectbox(key="sidebar_dataset").value == spec


def test_a_bad_upload_gets_one_sentence(app_models, monkeypatch):
    with pytest.raises(DatasetError, match="bad.csv has the column"):
        save_upload(b"customer,sku\nu1,a\n", "bad.csv")  # refused before it is kept
    # an upload kept earlier that no longer loads (a limit lowered since) gets one sentence too
    spec = save_upload(b"user,item\nu1,a\nu2,a\nu3,b\n", "kept.csv")
    monkeypatch.setenv("RECSYS_MAX_ROWS", "2")
    at = open_page("start", dataset=spec)
    assert not at.exception
    errors = [shown(e.value) for e in at.error]
    assert errors and errors[0].startswith("kept.csv has more than 2 rows")


def test_unknown_dataset_in_the_url_falls_back_to_the_demo(app_models):
    at = open_page("start", dataset="no-such-dataset")
    assert not at.exception
    assert any("Unknown dataset" in w.value for w in at.warning)


# ------------------------------------------------------------------------ words, not keys
def _widget(at, key: str):
    for kind in ("number_input", "checkbox", "selectbox", "text_input"):
        try:
            return getattr(at, kind)(key=key)
        except KeyError:
            continue
    raise AssertionError(f"no widget with key {key!r}")


def test_the_training_form_reads_as_words_and_keeps_its_keys(app_models):
    """Every algorithm's form: labels and one-line helps from its Params, the widget keys (and
    so the URL, --param and the store) still the parameter names."""
    from recsys_core.algorithms import algorithms
    from recsys_core.words import algorithm_label

    from .test_evaluate_page import assert_no_raw_keys

    at = open_page("similar", dataset="demo", model=app_models["als"])
    box = at.selectbox(key="train_algorithm")
    registry = algorithms()
    assert box.options == [algorithm_label(name) for name in sorted(registry)]
    assert "ALS (WRMF)" in box.options and "als" not in box.options
    checked = 0
    for name in sorted(registry):
        at.selectbox(key="train_algorithm").select(name).run()
        assert not at.exception, (name, at.exception)
        if "ratings" in registry[name].needs:  # refused on the demo, with a reason
            continue
        for param in registry[name].params:
            widget = _widget(at, f"param_{name}_{param.name}")  # the key is the name
            assert widget.label == param.label, (name, param.name, widget.label)
            assert widget.help == param.help, (name, param.name)
            checked += 1
        assert_no_raw_keys(at, area=at.sidebar)
    assert checked >= 30
    at.selectbox(key="train_algorithm").select("als").run()
    assert at.selectbox(key="train_preset_als").options == ["Defaults", "Sketchfab best"]
    assert at.number_input(key="param_als_random_state").label == "Random seed"
    assert at.checkbox(key="param_als_calculate_training_loss").label == "Track training loss"


def test_model_labels_read_as_words(app_models):
    from recsys_core.ui.model_picker import model_label

    entry = {
        "algorithm": "als",
        "params": {
            "factors": 40,
            "alpha": 50.0,
            "iterations": 15,
            "regularization": 0.01,
            "random_state": 3,
            "calculate_training_loss": False,
        },
        "created": "2026-12-03T14:05:00",
        "metrics": {"holdout:5:seed=0@k=10": {"precision": 0.1234, "k": 10}},
    }
    assert model_label(entry) == (
        "ALS (WRMF) · latent factors 40, confidence scale (alpha) 50 · 3 Dec 14:05 · "
        "top-10 precision 0.123"
    )
    assert model_label({"algorithm": "popularity", "params": {"weighted": False}}) == "Popularity"
    steered = dict(
        entry,
        metrics={
            **entry["metrics"],  # stored after it: not the model's own
            "holdout:5:seed=0@k=10|rerank:popularity=1": {"precision": 0.05, "k": 10},
        },
    )
    assert model_label(steered).endswith("top-10 precision 0.123")
    at = open_page("similar", dataset="demo", model=app_models["als"])
    options = at.selectbox(key="sidebar_model").options
    assert any(
        o.startswith("ALS (WRMF) · latent factors 24, training passes 6 · ") for o in options
    ), options
    assert not [o for o in options if "=" in o or "_" in o], options


def test_an_upload_error_names_the_users_own_file():
    from recsys_core.ui.upload_form import upload_failure

    named = "likes.csv has the column(s) 'customer', 'sku' but needs a user column."
    assert upload_failure(named, ["likes.csv"]) == named
    assert upload_failure(
        "An id column has empty values; fill them in or remove those rows.",
        ["likes.csv", "items.csv"],
    ) == (
        "likes.csv and items.csv: an id column has empty values; fill them in or remove those rows."
    )
