"""The shared sidebar: pick a dataset, train a model from the form, browse an upload."""

from __future__ import annotations

import pytest

from recsys_core.errors import DatasetError
from recsys_core.store import ModelStore
from recsys_core.uploads import save_upload

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
