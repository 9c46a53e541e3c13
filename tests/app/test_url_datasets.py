"""The trust boundary of links: a URL may name only registry datasets, kept uploads, their k-core
cuts, files a stored model records and files under RECSYS_DATA_DIRS. Anything else gets one
sentence that echoes nothing of it, on every page, before anything is read."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from recsys_core import config
from recsys_core.datasets import (
    NOT_AVAILABLE,
    DatasetNotAvailable,
    file_labels,
    is_shareable,
    recorded_files,
    require_shareable,
    shared_files,
    tabular,
)
from recsys_core.datasets.uploads import save_upload
from recsys_core.errors import DatasetError
from recsys_core.store import ModelStore
from recsys_core.training import train

from .helpers import html_blocks, open_page, shown

PAGES = ("start", "similar", "users", "compare", "embeddings", "evaluate", "data")
SECRET = "SECRET-7f3a"


def write_likes(path, n_users: int = 12, prefix: str = "it"):
    """A small interactions csv whose item ids carry a marker that must never reach a page."""
    rows = [(f"u{u}", f"{prefix}{SECRET}{(u + j) % 6}") for u in range(n_users) for j in range(3)]
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["user", "item"]).to_csv(path, index=False)
    return path


def stored() -> dict[str, dict]:
    """The file datasets the store's models record now (what the app reads)."""
    return recorded_files(ModelStore().list())


def refused(spec: str, **kwargs) -> str:
    kwargs.setdefault("recorded", stored())
    with pytest.raises(DatasetNotAvailable) as caught:
        require_shareable(spec, **kwargs)
    return str(caught.value)


@pytest.fixture
def shared(tmp_path, monkeypatch):
    """A shared folder listed in RECSYS_DATA_DIRS (plus a second, empty one) and a csv outside."""
    folder = tmp_path / "shared"
    other = tmp_path / "other"
    other.mkdir()
    inside = write_likes(folder / "likes.csv")
    outside = write_likes(tmp_path / "private" / "outside.csv")
    monkeypatch.setenv(config.DATA_DIRS_ENV, os.pathsep.join([str(other), "", str(folder)]))
    return folder, inside, outside


# ------------------------------------------------------------------------------ the allow-list
def test_registry_names_and_their_cuts_are_allowed(fresh_home):
    assert require_shareable("demo", recorded=[]) == "demo"
    assert require_shareable("movielens-100k", recorded=[]) == "movielens-100k"  # not on disk
    assert require_shareable("demo@kcore=5,5", recorded=[]) == "demo@kcore=5,5"


@pytest.mark.parametrize(
    "spec",
    [
        "no-such-dataset",
        "demo@kcore=x,5",  # malformed cut: split_spec's message would echo the spec
        "demo@kcore=1,1@kcore=2,2",  # a cut of a cut is never made by the app
        "/etc/passwd@kcore=1,1",
        "upload:000000000000",  # the pattern, but no such folder
        "upload:../../../etc",
        "upload:ABCDEF012345",
        "",
        "demo\x00",
        "x" * 5000,
    ],
)
def test_malformed_and_unknown_specs_get_the_one_sentence(fresh_home, spec):
    message = refused(spec, recorded=[])
    assert message == NOT_AVAILABLE
    assert "passwd" not in message and "upload" not in message


def test_kept_uploads_and_their_cuts_are_allowed(fresh_home):
    spec = save_upload(b"user,item\nu1,a\nu2,a\nu2,b\n", "mine.csv")
    assert require_shareable(spec, recorded=[]) == spec
    assert is_shareable(f"{spec}@kcore=1,1", recorded=[])
    key = spec.split(":", 1)[1]
    assert (fresh_home / "uploads" / key).is_dir()
    (fresh_home / "uploads" / key / "interactions.csv").unlink()
    (fresh_home / "uploads" / key / "name.txt").unlink()
    (fresh_home / "uploads" / key).rmdir()
    assert refused(spec, recorded=[]) == NOT_AVAILABLE


@pytest.mark.parametrize(
    "spec", ["/etc/passwd", "../../../../etc/passwd", "../../../../../../../etc/shadow"]
)
def test_system_files_are_refused(fresh_home, shared, spec):
    assert refused(spec) == NOT_AVAILABLE


def test_a_csv_outside_every_allowed_folder_is_refused(fresh_home, shared):
    _, _, outside = shared
    assert tabular.load_file(outside).n_users == 12  # a perfectly loadable file...
    assert refused(str(outside)) == NOT_AVAILABLE  # ...that a link may not name
    assert refused(f"{outside}@kcore=1,1") == NOT_AVAILABLE


def test_a_file_a_stored_model_records_is_allowed(fresh_home, tmp_path):
    likes = write_likes(tmp_path / "cli" / "likes.csv")
    items = tmp_path / "cli" / "items.csv"
    names = pd.DataFrame({"item_id": [f"it{SECRET}{i}" for i in range(6)], "name": list("abcdef")})
    names.to_csv(items, index=False)
    assert refused(str(likes)) == NOT_AVAILABLE  # not recorded yet
    options = {"items_path": str(items)}
    dataset = tabular.load_file(likes, items_path=items)
    train(
        dataset, "popularity", {}, source={"spec": str(likes), "data_dir": None, "options": options}
    )
    assert stored() == {str(likes): options}
    assert require_shareable(str(likes), recorded=stored()) == str(likes)
    assert is_shareable(f"{likes}@kcore=2,2", recorded=stored())
    # the same file under another spelling is not what the model records
    assert not is_shareable(str(likes.parent / ".." / "cli" / "likes.csv"), recorded=stored())
    assert shared_files(stored()) == [str(likes)]


def test_recorded_files_ignore_odd_meta_shapes():
    class Entry:
        def __init__(self, meta):
            self.meta = meta

    entries = [
        Entry(None),
        Entry([1, 2, 3]),
        Entry({"dataset_source": "x"}),
        Entry({"dataset_source": {"spec": 5}}),
        Entry({"dataset_source": {"spec": "demo"}}),
        Entry({"dataset_source": {"spec": "upload:0123456789ab"}}),
        Entry({"dataset_source": {"spec": "/d/a.csv@kcore=2,2", "options": [1]}}),
        Entry({"dataset_source": {"spec": "/d/a.csv", "options": {"items_path": "/d/i.csv"}}}),
    ]
    assert recorded_files(entries) == {"/d/a.csv": {"items_path": "/d/i.csv"}}


def test_files_under_a_data_dir_are_allowed(fresh_home, shared, monkeypatch):
    folder, inside, _ = shared
    assert require_shareable(str(inside), recorded=[]) == str(inside)
    assert is_shareable(f"{inside}@kcore=1,1", recorded=[])
    (folder / "sub").mkdir()
    assert is_shareable(str(folder / "sub" / ".." / "likes.csv"), recorded=[])  # still inside
    monkeypatch.chdir(folder)
    assert is_shareable("likes.csv", recorded=[])  # relative, resolved where the loader reads it
    assert shared_files(recorded=[]) == [str(inside)]


def test_traversal_and_look_alike_folders_are_refused(fresh_home, shared, tmp_path):
    folder, _, outside = shared
    assert refused(str(folder / ".." / "private" / "outside.csv"), recorded=[]) == NOT_AVAILABLE
    assert refused(str(folder / ".." / ".." / ".." / ".." / "etc" / "passwd"), recorded=[])
    twin = write_likes(tmp_path / "shared-evil" / "likes.csv")  # a prefix, not a subfolder
    assert not is_shareable(str(twin), recorded=[])
    assert not is_shareable(str(folder / "missing.csv"), recorded=[])
    assert not is_shareable(str(folder), recorded=[])  # the folder itself


def test_symlinks_out_of_the_folder_are_refused(fresh_home, shared, tmp_path):
    folder, inside, outside = shared
    (folder / "escape.csv").symlink_to(outside)
    (folder / "passwd.csv").symlink_to("/etc/passwd")
    (folder / "private").symlink_to(outside.parent, target_is_directory=True)
    (folder / "alias.csv").symlink_to(inside)  # a link that stays inside is fine
    for name in ("escape.csv", "passwd.csv", "private/outside.csv"):
        assert refused(str(folder / name), recorded=[]) == NOT_AVAILABLE
    assert is_shareable(str(folder / "alias.csv"), recorded=[])
    listed = shared_files(recorded=[])
    assert listed == [str(folder / "alias.csv"), str(inside)]


def test_a_data_dir_named_through_a_symlink_still_works(fresh_home, tmp_path, monkeypatch):
    real = write_likes(tmp_path / "real" / "likes.csv")
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    monkeypatch.setenv(config.DATA_DIRS_ENV, str(tmp_path / "link"))
    assert is_shareable(str(tmp_path / "link" / "likes.csv"), recorded=[])
    assert is_shareable(str(real), recorded=[])


def test_only_data_files_under_a_data_dir(fresh_home, shared):
    folder, _, _ = shared
    for name in ("id_rsa", "config.json", ".hidden.csv"):
        (folder / name).write_text("user,item\nu,i\n")
    assert not is_shareable(str(folder / "id_rsa"), recorded=[])
    assert not is_shareable(str(folder / "config.json"), recorded=[])
    assert [os.path.basename(p) for p in shared_files(recorded=[])] == ["likes.csv"]


def test_the_refusal_is_a_dataset_error():
    assert issubclass(DatasetNotAvailable, DatasetError)


def test_file_labels_are_file_names():
    labels = file_labels(["/srv/a/likes.csv", "/srv/b/likes.csv", "/srv/b/views.parquet"])
    assert labels == {
        "/srv/a/likes.csv": "a/likes.csv (file)",
        "/srv/b/likes.csv": "b/likes.csv (file)",
        "/srv/b/views.parquet": "views.parquet (file)",
    }


# ------------------------------------------------------------------------------------ the app
def errors(at) -> list[str]:
    """The error messages as shown (Markdown escapes resolved)."""
    return [shown(e.value) for e in at.error]


def page_text(at) -> str:
    """Everything the page drew: the protobuf of every element in the tree (messages, markdown,
    html, widget labels and options), but not the query string the test itself set."""

    def walk(node):
        yield node
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    parts = [str(getattr(node, "proto", "")) for node in walk(at._tree)]
    parts += [str(getattr(node, "value", "")) for node in walk(at._tree)]
    return "\n".join(parts)


@pytest.fixture(scope="module")
def outside_csv(tmp_path_factory):
    return write_likes(tmp_path_factory.mktemp("private") / "secret_likes.csv")


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("kind", ["etc", "traversal", "csv", "csv-kcore"])
def test_a_link_to_a_file_gets_one_sentence_on_every_page(app_models, outside_csv, page, kind):
    spec = {
        "etc": "/etc/passwd",
        "traversal": "../../../../etc/passwd",
        "csv": str(outside_csv),
        "csv-kcore": f"{outside_csv}@kcore=1,1",
    }[kind]
    at = open_page(page, dataset=spec, model=app_models["item-knn"], item="1", user="1")
    assert not at.exception
    assert errors(at) == [NOT_AVAILABLE]
    assert not at.warning  # nothing else is said about it
    text = shown(page_text(at))  # as drawn: Markdown escapes resolved
    assert NOT_AVAILABLE in text  # the walk over the page sees its messages
    assert "root:" not in text and SECRET not in text
    assert "passwd" not in text and "secret_likes" not in text
    assert not [b for b in html_blocks(at) if "rx-grid" in b]  # no item grid


def test_the_sidebar_offers_a_way_out(app_models, outside_csv):
    at = open_page("similar", dataset=str(outside_csv))
    box = at.selectbox(key="sidebar_dataset_refused")
    assert box.value is None and "demo (synthetic demo data)" in box.options
    at = box.select("demo").run()
    assert not at.exception and not at.error
    assert at.query_params["dataset"] in ("demo", ["demo"])
    assert at.selectbox(key="sidebar_dataset").value == "demo"
    assert any(" users" in c.value for c in at.sidebar.caption)  # the demo is loaded


@pytest.mark.parametrize("page", PAGES)
def test_the_main_area_says_so_and_opens_the_demo(app_models, outside_csv, page):
    """Never a blank main area: the sentence, and a button that opens the demo (model, item
    and user of the refused link dropped)."""
    at = open_page(page, dataset=str(outside_csv), model=app_models["als"], item="x", user="y")
    assert [shown(e.value) for e in at.main.error] == [NOT_AVAILABLE]
    assert not at.sidebar.error  # said once, where the page would be
    at = at.button(key="sidebar_open_demo").click().run()
    assert not at.exception and not at.error
    assert at.query_params["dataset"] in ("demo", ["demo"])
    assert "item" not in at.query_params or at.query_params["item"] != ["x"]
    assert any(" users" in c.value for c in at.sidebar.caption)  # the demo is loaded


def test_a_file_under_a_data_dir_opens_with_its_file_name(app_models, tmp_path, monkeypatch):
    likes = write_likes(tmp_path / "shared" / "likes.csv")
    monkeypatch.setenv(config.DATA_DIRS_ENV, str(tmp_path / "shared"))
    at = open_page("similar", dataset=str(likes))
    assert not at.exception and not at.error
    assert any("12 users" in c.value for c in at.sidebar.caption)
    box = at.selectbox(key="sidebar_dataset")
    assert box.value == str(likes)
    # by file name (with its folder's name when another recorded file shares the name)
    assert {"likes.csv (file)", "shared/likes.csv (file)"} & set(box.options)
    assert not [o for o in box.options if str(tmp_path) in o]  # labels never show the folder
    at = open_page("data", dataset=f"{likes}@kcore=2,2")
    assert not at.exception and not at.error
    cuts = {"likes.csv (file), k-core 2/2", "shared/likes.csv (file), k-core 2/2"}
    assert cuts & set(at.selectbox(key="sidebar_dataset").options)


def test_a_file_a_model_records_opens_with_its_items(app_models, tmp_path):
    likes = write_likes(tmp_path / "cli" / "likes.csv", prefix="")
    items = tmp_path / "cli" / "items.csv"
    names = pd.DataFrame(
        {
            "item_id": [f"{SECRET}{i}" for i in range(6)],
            "name": [f"Named thing {i}" for i in range(6)],
        }
    )
    names.to_csv(items, index=False)
    dataset = tabular.load_file(likes, items_path=items)
    model_id = train(
        dataset,
        "item-knn",
        {"K": 5},
        source={"spec": str(likes), "data_dir": None, "options": {"items_path": str(items)}},
    ).model_id
    at = open_page("similar", dataset=str(likes), model=model_id, item=f"{SECRET}0")
    assert not at.exception and not at.error
    grid = "".join(b for b in html_blocks(at) if "rx-grid" in b)
    assert "Named thing" in grid
    # by file name (with its folder's name when another recorded file shares the name)
    assert {"likes.csv (file)", "cli/likes.csv (file)"} & set(
        at.selectbox(key="sidebar_dataset").options
    )
