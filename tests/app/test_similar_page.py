"""The Similar items page, the way a person uses it (AppTest)."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest

from recsys_core.datasets import load_dataset
from recsys_core.html import csv_cell
from recsys_core.store import ModelStore
from recsys_core.ui import search_box, widgets

from .helpers import cards, grid_item_ids, html_blocks, open_page


def _grids(at):
    return [b for b in html_blocks(at) if "rx-grid" in b]


def _param(at, key):
    value = at.query_params.get(key)
    return value[0] if isinstance(value, list) else value


# ------------------------------------------------------------------ the search box, as a browser
def _box(at, key: str):
    return next(
        e
        for e in at.get("bidi_component")
        if e.proto.component_name == search_box.NAME and e.proto.id.endswith(f"-{key}")
    )


def search_box_data(at, key: str = "item_query") -> dict:
    """What the page sent to the search box under ``key`` (label, suggestions, note...)."""
    return json.loads(_box(at, key).proto.json)


def search(at, key: str, typed: str, pick: dict | None = None):
    """Do what the search box's script does in the browser: send what is typed (its ``query``
    state) and, with ``pick``, one ``picked`` trigger; then run the page. AppTest does not run
    components' scripts, so the widget states are built here (Streamlit's own format)."""
    from streamlit.components.v2.bidi_component.main import _make_trigger_id

    box = _box(at, key)
    states = at._tree.get_widget_states()
    typed_state = states.widgets.add()
    typed_state.id = box.proto.id
    typed_state.json_value = json.dumps({"query": typed})
    if pick is not None:
        trigger = states.widgets.add()
        trigger.id = _make_trigger_id(box.proto.id, "events")
        trigger.json_trigger_value = json.dumps([{"event": "picked", "value": pick}])
    return at._run(states)


@pytest.fixture
def downloads(monkeypatch):
    """``read(url) -> (file name, bytes)``: a file the app offered with ``st.download_button``,
    read from the media store of the AppTest runs made during the test."""
    return offered_files(monkeypatch)


def offered_files(monkeypatch):
    """See :func:`downloads` (shared with the Users page's tests)."""
    import streamlit.testing.v1.app_test as app_test

    stores = []
    real = app_test.MediaFileManager

    def keep(storage):
        stores.append(storage)
        return real(storage)

    monkeypatch.setattr(app_test, "MediaFileManager", keep)

    def read(url: str) -> tuple[str, bytes]:
        name = url.rsplit("/", 1)[-1]
        for storage in reversed(stores):
            try:
                found = storage.get_file(name)
            except Exception:  # another run's store
                continue
            return found.filename, found.content
        raise KeyError(url)

    return read


def csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


# ------------------------------------------------------------------------------------ the grid
def test_url_opens_the_grid_of_the_models_neighbours(app_models):
    demo = load_dataset("demo")
    item = demo.example_item
    at = open_page("similar", dataset="demo", model=app_models["als"], item=item, k="12")
    assert not at.exception
    grids = _grids(at)
    assert grids, "no thumbnail grid drawn"
    shown = grid_item_ids(grids[0])
    model = ModelStore().load(app_models["als"], demo)
    expected, _ = model.similar_items(demo.item_index(item), 12)
    assert shown == [demo.item_id(i) for i in expected]
    assert at.slider(key="similar_k").value == 12
    # the selected item: its name first, then one line of facts and its tags as chips
    assert at.subheader[0].value == demo.item_name(demo.item_index(item))
    row = demo.items.iloc[demo.item_index(item)]
    panel = next(b for b in html_blocks(at) if "rx-chips" in b)
    assert [t for t in cards(panel).tags if "rx-chip-name" in (t[1].get("class") or "")]
    assert all(f">{tag}<" in panel for tag in row["tags"])


def test_typing_suggests_words_in_any_order_and_a_pick_selects_exactly_one(app_models):
    demo = load_dataset("demo")
    start = demo.example_item
    at = open_page("similar", dataset="demo", model=app_models["item-knn"], item=start)
    before = grid_item_ids(_grids(at)[0])
    assert search_box_data(at)["options"] == []  # nothing typed, nothing suggested

    # every word, in any order, as the start of a word of the name
    target = demo.search_items("typewriter chrome", limit=5)
    assert len(target) == 1
    target_id = demo.item_id(int(target[0]))
    assert "Chrome" in demo.item_name(int(target[0]))
    search(at, "item_query", "typewriter chrome")
    assert not at.exception
    sent = search_box_data(at)
    assert sent["query"] == "typewriter chrome"
    assert [o["id"] for o in sent["options"]] == [target_id]
    assert sent["options"][0]["name"] == demo.item_name(int(target[0]))
    assert _param(at, "item") == start  # typing alone selects nothing

    search(at, "item_query", "typ chr")  # prefixes of words
    assert target_id in [o["id"] for o in search_box_data(at)["options"]]

    # one suggestion picked: exactly that item, in the URL, and its neighbours
    search(at, "item_query", "typewriter chrome", pick={"id": target_id, "query": "typ chr"})
    assert not at.exception
    assert _param(at, "item") == target_id
    assert at.subheader[0].value == demo.item_name(int(target[0]))
    after = grid_item_ids(_grids(at)[0])
    model = ModelStore().load(app_models["item-knn"], demo)
    expected, _ = model.similar_items(int(target[0]), 12)
    assert after == [demo.item_id(i) for i in expected] != before
    # the selected item is marked among the suggestions
    search(at, "item_query", "typewriter")
    marks = {o["id"]: o["mark"] for o in search_box_data(at)["options"]}
    assert marks[target_id] == "selected"
    assert sum(1 for mark in marks.values() if mark) == 1


def test_enter_before_the_suggestions_picks_the_best_match(app_models):
    demo = load_dataset("demo")
    at = open_page("similar", dataset="demo", model=app_models["als"], item=demo.example_item)
    best = demo.search_items("rocket", limit=3)
    assert len(best) == 3
    search(at, "item_query", "", pick={"id": None, "query": "rocket"})
    assert _param(at, "item") == demo.item_id(int(best[0]))
    # a pasted id picks that item; a query that matches nothing changes nothing
    search(at, "item_query", "", pick={"id": None, "query": demo.item_ids[7]})
    assert _param(at, "item") == demo.item_ids[7]
    search(at, "item_query", "", pick={"id": None, "query": "zzzz qqqq"})
    assert _param(at, "item") == demo.item_ids[7]
    assert not at.exception
    # an id that is not an item (a stale or hand-made event) falls back to the query
    search(at, "item_query", "", pick={"id": "no-such-item", "query": "rocket"})
    assert _param(at, "item") == demo.item_id(int(best[0]))


def test_suggestions_for_a_typo_and_for_a_link(app_models):
    demo = load_dataset("demo")
    options, note = widgets.suggestions(demo, "typewriter chrome xq")
    assert "No item has every word" in note
    assert options and "Chrome Typewriter" in options[0]["name"]  # all words but one
    options, note = widgets.suggestions(demo, demo.item_ids[3])
    assert [o["id"] for o in options] == [demo.item_ids[3]]
    options, _ = widgets.suggestions(demo, "rocket")
    assert len(options) == len(demo.search_items("rocket", limit=widgets.SEARCH_LIMIT))
    counts = [int(o["meta"].split(" · ")[-1].split()[0].replace(",", "")) for o in options]
    assert counts == sorted(counts, reverse=True)  # most liked first


def test_unknown_item_in_the_url_suggests_the_closest(app_models):
    at = open_page("similar", dataset="demo", model=app_models["als"], item="i99999")
    assert not at.exception
    assert any("not in demo" in w.value for w in at.warning)
    assert _grids(at), "the closest items are shown as a grid"


def test_switching_the_model_changes_the_grid(app_models):
    demo = load_dataset("demo")
    item = demo.example_item
    als = grid_item_ids(
        _grids(open_page("similar", dataset="demo", model=app_models["als"], item=item))[0]
    )
    knn = grid_item_ids(
        _grids(open_page("similar", dataset="demo", model=app_models["item-knn"], item=item))[0]
    )
    assert als != knn


# ------------------------------------------------------------------------------------ the tags
def test_suggested_tags_and_items_for_a_tag_are_two_sections(app_models):
    demo = load_dataset("demo")
    item = demo.item_index(demo.example_item)
    at = open_page("similar", dataset="demo", model=app_models["lightfm"], item=demo.example_item)
    assert not at.exception
    heads = [s.value for s in at.subheader]
    assert heads.index("Suggested tags for this item") < heads.index("Items for a tag")
    assert heads[-2:] == ["Suggested tags for this item", "Items for a tag"]
    helps = [c.value for c in at.caption]
    assert any("closest to this item, with their score" in c for c in helps)
    assert any("Pick any tag" in c for c in helps)

    # the suggested tags: chips, each with its score, in the model's order
    model = ModelStore().load(app_models["lightfm"], demo)
    tags, scores = model.suggest_tags(item, 8)
    chips = [b for b in html_blocks(at) if 'class="rx-chip-score"' in b]
    assert len(chips) == 1
    parsed = cards(chips[0])
    names = [t for t in chips[0].split('class="rx-chip-name">')[1:]]
    assert [n.split("<", 1)[0] for n in names] == list(tags)
    badges = [t.split("<", 1)[0] for t in chips[0].split('class="rx-chip-score">')[1:]]
    assert badges == [f"{s:.3g}" for s in scores]
    assert not [tag for tag, _ in parsed.tags if tag in {"script", "a"}]

    # items for a tag: its own selectbox and grid, below the chips
    assert at.selectbox(key="similar_tag").value in model.tag_names()
    grids = _grids(at)
    assert len(grids) == 2
    expected, _ = model.items_for_tag(at.selectbox(key="similar_tag").value, 12)
    assert grid_item_ids(grids[1]) == [demo.item_id(i) for i in expected]
    at.selectbox(key="similar_tag").set_value(model.tag_names()[3]).run()
    expected, _ = model.items_for_tag(model.tag_names()[3], 12)
    assert grid_item_ids(_grids(at)[1]) == [demo.item_id(i) for i in expected]


def test_models_without_tags_show_no_tag_sections(app_models):
    demo = load_dataset("demo")
    at = open_page("similar", dataset="demo", model=app_models["als"], item=demo.example_item)
    heads = [s.value for s in at.subheader]
    assert "Suggested tags for this item" not in heads and "Items for a tag" not in heads


# ------------------------------------------------------------------------------------ CSV
def test_the_csv_download_is_what_the_grid_shows(app_models, downloads):
    demo = load_dataset("demo")
    item = demo.example_item
    at = open_page("similar", dataset="demo", model=app_models["als"], item=item, k="7")
    button = at.get("download_button")[0]
    name, content = downloads(button.proto.url)
    assert name.startswith(f"similar-{item}-") and name.endswith(".csv")
    rows = csv_rows(content)
    model = ModelStore().load(app_models["als"], demo)
    expected, scores = model.similar_items(demo.item_index(item), 7)
    assert [r["item_id"] for r in rows] == [demo.item_id(i) for i in expected]
    assert [r["item_id"] for r in rows] == grid_item_ids(_grids(at)[0])
    assert [int(r["rank"]) for r in rows] == list(range(1, 8))
    assert [r["name"] for r in rows] == [demo.item_name(i) for i in expected]
    assert [r["category"] for r in rows] == [demo.items.at[i, "category"] for i in expected]
    assert np.allclose([float(r["score"]) for r in rows], scores, atol=1e-6)
    assert {r["similar_to"] for r in rows} == {item}
    assert {r["model"] for r in rows} == {model.label or model.name}


FORMULAS = ['=HYPERLINK("http://127.0.0.1:9/x","click")', "+SUM(1,2)", "-1+2", "@cmd", "  =1+1"]


def test_a_name_made_of_a_formula_stays_text_in_the_csv(tmp_path, downloads):
    from recsys_core.datasets import tabular
    from recsys_core.training import train

    others = [0, 1, 2, 3, 4, 5, 7]  # every user likes f6 and two others: f6 is like all
    rows = [(f"u{u}", "f6") for u in range(42)]
    rows += [(f"u{u}", f"f{others[(u + j) % 7]}") for u in range(42) for j in range(2)]
    likes = tmp_path / "likes.csv"
    pd.DataFrame(rows, columns=["user", "item"]).to_csv(likes, index=False)
    names = [*FORMULAS, "-42", "Plain lamp", "@home"]
    items = tmp_path / "items.csv"
    categories = ["=cat()", "Lamps", "Lamps", "Lamps", "Lamps", "Lamps", "Lamps", "Lamps"]
    pd.DataFrame(
        {"item_id": [f"f{i}" for i in range(8)], "name": names, "category": categories}
    ).to_csv(items, index=False)
    dataset = tabular.load_file(likes, items_path=items)
    source = {"spec": str(likes), "data_dir": None, "options": {"items_path": str(items)}}
    model_id = train(dataset, "item-knn", {"K": 10}, source=source).model_id

    at = open_page("similar", dataset=str(likes), model=model_id, item="f6", k="7")
    assert not at.exception
    _, content = downloads(at.get("download_button")[0].proto.url)
    got = {r["item_id"]: r for r in csv_rows(content)}
    assert set(got) == {f"f{i}" for i in range(8)} - {"f6"}
    for item_id, row in got.items():
        name = dataset.item_name(dataset.item_index(item_id))
        assert row["name"] == csv_cell(name)
        if name.strip() in {f.strip() for f in FORMULAS} | {"@home"}:
            assert row["name"] == "'" + name  # shown as typed, never run
        else:
            assert row["name"] == name  # a plain number or name as it is
    assert {dataset.item_name(dataset.item_index(i)) for i in got} >= {"-42", "@home"}
    assert got["f0"]["category"] == "'=cat()"
    assert all(not r["score"].startswith("'") for r in got.values())  # numbers stay numbers
