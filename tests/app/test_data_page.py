"""The Data page, the way a person uses it (AppTest): figures, long tails, popular items,
categories and tags, and the k-core preview with "use this thresholded dataset"."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recsys_core import dataviz
from recsys_core.datasets import load_dataset
from recsys_core.preprocess import kcore_preview
from recsys_core.ui import data_page

from .helpers import grid_item_ids, html_blocks, open_page, shown


def _dataset_param(at) -> str:
    value = at.query_params["dataset"]
    return value[0] if isinstance(value, list) else value


def _charts(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def _kcore_rows(at) -> dict:
    (table,) = [d.value for d in at.dataframe if "rounds" in d.value.columns]
    return {row: table.loc[row].to_dict() for row in ("before", "after")}


def _expected_rows(report) -> dict:
    return {
        "before": [
            report.users_before,
            report.items_before,
            report.interactions_before,
            pytest.approx(100 * report.density_before),
            0,
        ],
        "after": [
            report.users_after,
            report.items_after,
            report.interactions_after,
            pytest.approx(100 * report.density_after),
            report.rounds,
        ],
    }


def _as_list(row: dict) -> list:
    return [row["users"], row["items"], row["interactions"], row["density (%)"], row["rounds"]]


def _params(at) -> dict:
    """The URL's parameters but the model (the sidebar adds the newest stored one, if any)."""
    return {
        k: v[0] if isinstance(v, list) else v for k, v in at.query_params.items() if k != "model"
    }


def test_the_page_shows_the_demos_figures_and_most_popular_items_first():
    demo = load_dataset("demo")
    at = open_page("data", dataset="demo")
    assert not at.exception
    assert any(shown(s.value) == "demo (synthetic demo data)" for s in at.subheader)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {
        "Users": f"{demo.n_users:,}",
        "Items": f"{demo.n_items:,}",
        "Interactions": f"{demo.n_interactions:,}",
        "Density": data_page.density_text(demo.density),
    }
    assert [t.label for t in at.tabs] == list(data_page.SECTIONS.values())
    grids = [b for b in html_blocks(at) if "rx-grid" in b]
    assert len(grids) == 1
    top = dataviz.top_items(demo, data_page.TOP_ITEMS)
    assert grid_item_ids(grids[0]) == [demo.item_id(i) for i in top]
    assert "/similar?" in grids[0] and "1,000 interactions" not in grids[0]
    # the closed sections did not run: no chart, no k-core table
    assert not at.get("plotly_chart")
    assert not [d for d in at.dataframe if "rounds" in d.value.columns]
    assert "section" not in at.query_params  # opening the page adds nothing to the URL


def test_the_long_tail_section_draws_both_tails_on_log_axes():
    demo = load_dataset("demo")
    at = open_page("data", dataset="demo", section="tail")
    assert not at.exception
    charts = _charts(at)
    assert len(charts) == 2  # per user, per item; nothing of the other sections
    users, items = charts[0]["data"][0], charts[1]["data"][0]
    assert charts[0]["layout"]["xaxis"]["type"] == charts[0]["layout"]["yaxis"]["type"] == "log"
    assert _values(users["y"]) == dataviz.rank_counts(demo.user_counts)["count"].tolist()
    assert _values(items["y"]) == dataviz.rank_counts(demo.item_counts)["count"].tolist()
    assert at.radio(key=data_page.TAIL_VIEW).value == "rank"
    assert not [b for b in html_blocks(at) if "rx-grid" in b]


def test_the_categories_section_draws_the_tags_bar_chart():
    demo = load_dataset("demo")
    at = open_page("data", dataset="demo", section="categories")
    assert not at.exception
    charts = _charts(at)
    assert len(charts) == 2  # categories, tags
    tags = dataviz.tag_counts(demo, top=20)
    assert _values(charts[1]["data"][0]["y"]) == tags["tag"].tolist()
    assert _values(charts[1]["data"][0]["x"]) == tags["items"].tolist()


def test_a_url_with_every_control_set_reopens_the_same_view():
    demo = load_dataset("demo")
    at = open_page("data", dataset="demo", section="kcore", min_user="25", min_item="12")
    assert not at.exception
    assert at.number_input(key=data_page.KCORE_USER).value == 25
    assert at.number_input(key=data_page.KCORE_ITEM).value == 12
    expected = _expected_rows(kcore_preview(demo, 25, 12))["after"]
    assert _as_list(_kcore_rows(at)["after"]) == expected
    assert not at.get("plotly_chart")

    at = open_page("data", dataset="demo", section="tail", tail="histogram")
    assert not at.exception
    assert at.radio(key=data_page.TAIL_VIEW).value == "histogram"
    users = _charts(at)[0]["data"][0]
    assert users["type"] == "bar" and sum(_values(users["y"])) == demo.n_users


def test_changing_the_controls_writes_the_url():
    at = open_page("data", dataset="demo", section="tail")
    at.radio(key=data_page.TAIL_VIEW).set_value("histogram").run()
    assert not at.exception
    assert _params(at) == {"dataset": "demo", "section": "tail", "tail": "histogram"}
    at.radio(key=data_page.TAIL_VIEW).set_value("rank").run()
    assert _params(at) == {"dataset": "demo", "section": "tail"}  # the default leaves the URL

    at = open_page("data", dataset="demo", section="kcore")
    at.number_input(key=data_page.KCORE_USER).set_value(7).run()
    assert _params(at) == {"dataset": "demo", "section": "kcore", "min_user": "7"}


def test_bad_values_in_the_url_fall_back_to_the_defaults():
    at = open_page(
        "data", dataset="demo", section="nope", tail="pie", min_user="-3", min_item="many"
    )
    assert not at.exception
    assert not at.get("plotly_chart")  # the default section, most popular items
    assert [b for b in html_blocks(at) if "rx-grid" in b]
    at = open_page("data", dataset="demo", section="kcore", min_user="-3", min_item="many")
    assert not at.exception
    assert at.number_input(key=data_page.KCORE_USER).value == 5
    assert at.number_input(key=data_page.KCORE_ITEM).value == 5


def _values(array) -> list:
    """A plotly JSON array: a plain list, or numpy's typed-array encoding ({"dtype", "bdata"})."""
    if isinstance(array, dict) and "bdata" in array:
        import base64

        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def test_the_histogram_view_counts_every_user():
    demo = load_dataset("demo")
    at = open_page("data", dataset="demo", section="tail")
    at.radio(key=data_page.TAIL_VIEW).set_value("histogram").run()
    assert not at.exception
    users = _charts(at)[0]["data"][0]
    assert sum(_values(users["y"])) == demo.n_users


def test_the_kcore_table_is_the_preview_for_the_inputs():
    demo = load_dataset("demo")
    at = open_page("data", dataset="demo", section="kcore")
    assert _as_list(_kcore_rows(at)["after"]) == _expected_rows(kcore_preview(demo, 5, 5))["after"]
    at.number_input(key=data_page.KCORE_USER).set_value(25)
    at.number_input(key=data_page.KCORE_ITEM).set_value(12).run()
    assert not at.exception
    rows = _kcore_rows(at)
    expected = _expected_rows(kcore_preview(demo, 25, 12))
    assert _as_list(rows["before"]) == expected["before"]
    assert _as_list(rows["after"]) == expected["after"]
    assert expected["after"][0] < demo.n_users  # the inputs did cut something


def test_use_switches_the_dataset_and_the_sidebar_shows_it():
    at = open_page("data", dataset="demo", section="kcore")
    at.number_input(key=data_page.KCORE_USER).set_value(20).run()
    at.button(key=data_page.KCORE_USE).click().run()
    assert not at.exception
    assert _dataset_param(at) == "demo@kcore=20,5"
    picker = at.selectbox(key="sidebar_dataset")
    assert picker.value == "demo@kcore=20,5"
    assert picker.format_func(picker.value) == "demo, k-core 20/5"
    thresholded = load_dataset("demo@kcore=20,5")
    assert {m.label: m.value for m in at.metric}["Users"] == f"{thresholded.n_users:,}"
    assert any("k-core 20/5" in shown(c.value) for c in at.sidebar.caption)
    assert at.button(key=data_page.KCORE_USE).disabled  # already the current dataset
    # back to the full dataset, and the sidebar follows
    at.button(key=data_page.KCORE_RESET).click().run()
    assert not at.exception
    assert _dataset_param(at) == "demo"
    assert at.selectbox(key="sidebar_dataset").value == "demo"


def test_an_over_strict_threshold_shows_an_error_not_an_exception():
    demo = load_dataset("demo")
    at = open_page("data", dataset="demo", section="kcore")
    too_many = int(demo.user_counts.max()) + 1
    at.number_input(key=data_page.KCORE_USER).set_value(too_many).run()
    assert not at.exception
    assert [shown(e.value) for e in at.error] == [
        f"A k-core with min_user={too_many} and min_item=5 leaves nothing of demo's "
        f"{demo.n_users:,} users x {demo.n_items:,} items x {demo.n_interactions:,} "
        "interactions; lower the thresholds."
    ]
    assert _kcore_rows(at)["after"]["users"] == 0
    with pytest.raises(KeyError):
        at.button(key=data_page.KCORE_USE)  # nothing to use


def test_an_over_strict_spec_in_the_url_offers_to_lower_it():
    at = open_page("data", dataset="demo@kcore=100000,5")  # any section: it cannot be built
    assert not at.exception
    assert any("leaves nothing" in e.value for e in at.error)
    assert at.number_input(key=data_page.KCORE_USER).value == 100000
    at.number_input(key=data_page.KCORE_USER).set_value(10).run()
    at.button(key=data_page.KCORE_USE).click().run()
    assert not at.exception
    assert _dataset_param(at) == "demo@kcore=10,5"


def test_data_without_categories_or_tags_has_friendly_empty_states():
    from recsys_core.datasets.uploads import save_upload

    rows = "\n".join(f"u{u},i{(u * 7 + j) % 40}" for u in range(60) for j in range(u % 9 + 1))
    spec = save_upload(("user,item\n" + rows + "\n").encode(), "plain.csv")
    at = open_page("data", dataset=spec, section="categories")
    assert not at.exception
    infos = [i.value for i in at.info]
    assert "This dataset's items have no categories." in infos
    assert "This dataset's items have no tags." in infos
    at = open_page("data", dataset=spec, section="kcore")
    at.number_input(key=data_page.KCORE_USER).set_value(3).run()
    at.button(key=data_page.KCORE_USE).click().run()
    assert not at.exception
    assert _dataset_param(at) == f"{spec}@kcore=3,5"
    assert at.selectbox(key="sidebar_dataset").format_func(f"{spec}@kcore=3,5") == (
        "plain.csv (uploaded), k-core 3/5"
    )


def test_the_upload_section_takes_the_visitors_own_file():
    """What a failed download points to: section=upload opens the form in the main area (its
    own keys, beside the sidebar's); pressing it without a file says so in one sentence."""
    at = open_page("data", dataset="demo", section="upload")
    assert not at.exception, at.exception
    assert data_page.SECTIONS["upload"] == "Your own data"
    uploaders = {u.proto.label: u for u in at.get("file_uploader")}
    assert at.get("file_uploader")
    main = [u for u in at.main.get("file_uploader")]
    assert [u.proto.label for u in main] == ["Interactions", "Items (optional)"]
    assert "Interactions" in uploaders
    [submit] = [b for b in at.main.get("form_submit_button") if b.label == "Use this data"]
    submit.click().run()
    assert not at.exception
    assert [shown(e.value) for e in at.main.error] == [
        "Choose an interactions file first, then press Use this data."
    ]
    assert _dataset_param(at) == "demo"


@pytest.mark.parametrize("section", list(data_page.SECTIONS))
def test_every_section_reads_as_words(section):
    from .test_evaluate_page import assert_no_raw_keys

    at = open_page("data", dataset="demo", section=section)
    assert not at.exception, at.exception
    texts = assert_no_raw_keys(at, area=at.main)
    assert data_page.SECTIONS[section] in texts
    for element in at.dataframe:
        config = json.loads(element.proto.columns or "{}")
        for column in element.value.columns:
            label = (config.get(str(column)) or {}).get("label") or str(column)
            assert "_" not in label and label[:1].isupper(), (section, column, label)


def test_a_dataset_that_does_not_open_offers_the_upload_in_the_main_area(tmp_path):
    refused = tmp_path / "likes.csv"
    refused.write_text("user,item\nu1,a\n")
    at = open_page("data", dataset=str(refused))  # a path no link may open
    assert not at.exception, at.exception
    assert any("upload your own here" in shown(i.value) for i in at.main.info)
    assert [u.proto.label for u in at.main.get("file_uploader")] == [
        "Interactions",
        "Items (optional)",
    ]
    assert str(tmp_path) not in "\n".join(shown(t.value) for t in at.main.info)
