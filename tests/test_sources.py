"""Every file-based source, on fixtures written here in each real format (no network)."""

from __future__ import annotations

import csv
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_core.dataset import Dataset
from recsys_core.datasets import get_source, load_dataset, movielens, sketchfab, sources, tabular
from recsys_core.errors import DatasetError

GENRES = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]


# ---------------------------------------------------------------------- fixture writers
def ml100k_ratings(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pairs = {(int(u), int(i)) for u, i in zip(rng.integers(1, 21, 300), rng.integers(1, 31, 300))}
    pairs = sorted(pairs)
    return pd.DataFrame(
        {
            "user": [u for u, _ in pairs],
            "item": [i for _, i in pairs],
            "rating": rng.integers(1, 6, len(pairs)),
            "timestamp": 874_000_000 + rng.integers(0, 10**6, len(pairs)),
        }
    )


def write_ml100k(folder: Path, ratings: pd.DataFrame | None = None) -> pd.DataFrame:
    """u.data, u.item (latin-1, genre flags), u.genre and the ua/ub/u1..u5 splits."""
    ratings = ml100k_ratings() if ratings is None else ratings
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"{r.user}\t{r.item}\t{r.rating}\t{r.timestamp}" for r in ratings.itertuples()]
    (folder / "u.data").write_text("\n".join(lines) + "\n")
    items = []
    for item in range(1, 31):
        flags = ["0"] * 19
        flags[1 + item % 18] = "1"
        if item % 5 == 0:
            flags[8] = "1"  # Drama as a second genre
        title = "Café Noir (1996)" if item == 7 else f"Movie {item} (1995)"
        items.append(
            "|".join([str(item), title, "01-Jan-1995", "", f"http://us.imdb.com/M/{item}"] + flags)
        )
    (folder / "u.item").write_bytes(("\n".join(items) + "\n").encode("latin-1"))
    (folder / "u.genre").write_text(
        "".join(f"{name}|{index}\n" for index, name in enumerate(GENRES)) + "\n"
    )
    rng = np.random.default_rng(1)
    for split in movielens.SPLITS_100K:
        test = ratings.iloc[np.sort(rng.choice(len(ratings), 40, replace=False))]
        base = ratings.drop(test.index)
        for suffix, part in (("test", test), ("base", base)):
            text = "".join(
                f"{r.user}\t{r.item}\t{r.rating}\t{r.timestamp}\n" for r in part.itertuples()
            )
            (folder / f"{split}.{suffix}").write_text(text)
    return ratings


def write_ml_csv(folder: Path) -> pd.DataFrame:
    """ratings.csv, movies.csv (quoted titles, | genres) and tags.csv as in latest/20m/25m."""
    folder.mkdir(parents=True, exist_ok=True)
    ratings = pd.DataFrame(
        {
            "userId": [1, 1, 1, 2, 2, 3, 3, 3, 4],
            "movieId": [1, 2, 50, 1, 193609, 2, 50, 193609, 1],
            "rating": [4.0, 3.5, 5.0, 2.0, 4.5, 0.5, 4.0, 3.0, 5.0],
            "timestamp": [
                964982703,
                964981247,
                964982931,
                835355493,
                1537799250,
                1111111111,
                1222222222,
                1333333333,
                1444444444,
            ],
        }
    )
    ratings.to_csv(folder / "ratings.csv", index=False)
    movies = pd.DataFrame(
        {
            "movieId": [1, 2, 50, 193609, 999],
            "title": [
                "Toy Story (1995)",
                "Jumanji (1995)",
                "Usual Suspects, The (1995)",
                'Andrew Dice Clay: "Dice Rules" (1991)',
                "Unrated (2000)",
            ],
            "genres": [
                "Adventure|Animation|Children|Comedy|Fantasy",
                "Adventure|Children",
                "Crime|Mystery|Thriller",
                "(no genres listed)",
                "Drama",
            ],
        }
    )
    movies.to_csv(folder / "movies.csv", index=False, quoting=csv.QUOTE_MINIMAL)
    tags = pd.DataFrame(
        {
            "userId": [1, 2, 3, 3, 4],
            "movieId": [1, 1, 1, 50, 50],
            "tag": ["pixar", "Pixar", "fun, for kids", "twist ending", "comedy"],
            "timestamp": [1, 2, 3, 4, 5],
        }
    )
    tags.to_csv(folder / "tags.csv", index=False)
    return ratings


def write_ml_dat(folder: Path) -> None:
    """ratings.dat and movies.dat: '::'-separated, latin-1."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ratings.dat").write_text(
        "1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n"
        "2::3408::2::978299000\n3::661::1::978297000\n"
    )
    (folder / "movies.dat").write_bytes(
        "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
        "661::James and the Giant Peach (1996)::Animation|Children's|Musical\n"
        "3408::Amélie: Le Fabuleux Destin (2001)::Comedy|Romance\n".encode("latin-1")
    )


NASTY_NAMES = [
    "Pipe | in the name",
    'Quote "this" model',
    "Back\\slash\\model",
    "<img src=x onerror=alert(1)>",
    "Line one\nline two",
    "plain",
]


def write_sketchfab(folder: Path) -> dict[str, str]:
    """model_likes_anon.psv / model_feats.psv written the way the crawler wrote them."""
    folder.mkdir(parents=True, exist_ok=True)
    mids = {name: f"{index:02d}" + "ab" * 15 for index, name in enumerate(NASTY_NAMES)}
    rows = []
    for user in range(8):
        for index, name in enumerate(NASTY_NAMES):
            if (user + index) % 3 != 0:
                rows.append([name, mids[name], f"user{user:02d}" + "f" * 25])
    rows.append(rows[0])  # an exact duplicate row, as in the real file
    rows.append(rows[1])
    with open(folder / sketchfab.LIKES_FILE, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="|", quotechar="\\", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(["modelname", "mid", "uid"])
        writer.writerows(rows)
    with open(folder / sketchfab.FEATS_FILE, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="|", quotechar="\\", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(["mid", "type", "value"])
        first = mids[NASTY_NAMES[0]]
        writer.writerows(
            [
                [first, "category", "characters-creatures"],
                [first, "category", "art-abstract"],
                [first, "tag", "lowpoly"],
                [first, "tag", "fox|pipe"],
                [mids[NASTY_NAMES[1]], "tag", "scifi"],
            ]
        )
    return mids


def zip_folder(folder: Path, archive: Path, prefix: str) -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        for path in sorted(folder.iterdir()):
            handle.write(path, f"{prefix}/{path.name}")
    return archive


# ---------------------------------------------------------------------- registry
def test_registry_lists_every_source():
    names = set(sources())
    assert {
        "sketchfab",
        "movielens-100k",
        "movielens-latest-small",
        "movielens-1m",
        "movielens-20m",
        "movielens-25m",
    } <= names
    assert get_source("movielens-1m").fetch is not None
    assert not get_source("movielens-25m").is_local()


# ---------------------------------------------------------------------- sketchfab
def test_sketchfab_reads_the_crawler_format(tmp_path):
    mids = write_sketchfab(tmp_path / "raw")
    data = sketchfab.load(data_dir=tmp_path / "raw")
    expected_likes = sum((u + i) % 3 != 0 for u in range(8) for i in range(len(NASTY_NAMES)))
    assert data.n_interactions == expected_likes
    assert data.extras["duplicate_rows_dropped"] == 2
    assert set(data.interactions.data.tolist()) == {1.0}
    items = data.items.set_index("item_id")
    for name, mid in mids.items():
        assert items.at[mid, "name"] == name  # pipes, quotes, backslashes, newlines, HTML verbatim
        assert items.at[mid, "url"] == f"https://sketchfab.com/models/{mid}"
        assert items.at[mid, "image_url"] == ""
    first = mids[NASTY_NAMES[0]]
    assert items.at[first, "category"] == "characters-creatures"
    assert items.at[first, "categories"] == ["characters-creatures", "art-abstract"]
    assert items.at[first, "tags"] == ["lowpoly", "fox|pipe"]
    assert items.at[mids[NASTY_NAMES[2]], "categories"] == []
    assert items.at[mids[NASTY_NAMES[2]], "category"] == ""


def test_sketchfab_missing_files_say_how_to_fetch(fresh_home, tmp_path):
    with pytest.raises(DatasetError, match="fetch sketchfab"):
        sketchfab.load()
    with pytest.raises(DatasetError, match="model_likes_anon.psv"):
        sketchfab.load(data_dir=tmp_path)
    with pytest.raises(DatasetError, match="min_rating"):
        sketchfab.load(data_dir=tmp_path, min_rating=4)


def test_sketchfab_data_dir_wins_over_the_cache(fresh_home, tmp_path):
    write_sketchfab(sketchfab.folder())
    assert get_source("sketchfab").is_local()
    other = tmp_path / "other"
    other.mkdir()
    with open(other / sketchfab.LIKES_FILE, "w") as handle:
        handle.write("modelname|mid|uid\nOnly one|m1|u1\n")
    assert sketchfab.load(data_dir=other).n_interactions == 1
    assert sketchfab.load().n_interactions > 1
    assert load_dataset("sketchfab").n_items == len(NASTY_NAMES)


# ---------------------------------------------------------------------- movielens
def test_movielens_100k_folder(tmp_path):
    ratings = write_ml100k(tmp_path / "ml-100k")
    data = movielens.load_variant("movielens-100k", data_dir=tmp_path)
    assert (data.n_users, data.n_items) == (ratings.user.nunique(), ratings.item.nunique())
    assert data.n_interactions == len(ratings)
    row = ratings.iloc[5]
    u, i = data.user_index(row["user"]), data.item_index(row["item"])
    assert data.ratings[u, i] == row["rating"]
    assert data.timestamps[u, i] == row["timestamp"]
    assert data.interactions[u, i] == 1.0
    items = data.items.set_index("item_id")
    assert items.at["7", "name"] == "Café Noir (1996)"  # latin-1 decoded
    assert items.at["5", "category"] == GENRES[1 + 5 % 18]
    assert items.at["5", "tags"] == [GENRES[1 + 5 % 18], "Drama"]
    assert items.at["5", "url"] == ""


def test_movielens_100k_predefined_splits(tmp_path):
    ratings = write_ml100k(tmp_path / "ml-100k")
    data = movielens.load_variant("movielens-100k", data_dir=tmp_path / "ml-100k")
    splits = data.extras["predefined_splits"]
    assert sorted(splits) == sorted(movielens.SPLITS_100K)
    test = pd.read_csv(tmp_path / "ml-100k" / "u3.test", sep="\t", header=None)
    expected = np.sort(
        [data.user_index(u) * data.n_items + data.item_index(i) for u, i in zip(test[0], test[1])]
    )
    assert splits["u3"].dtype == np.int64
    np.testing.assert_array_equal(splits["u3"], expected)
    assert len(ratings) > len(splits["u3"]) == 40


def test_movielens_min_rating_keeps_ratings(tmp_path):
    ratings = write_ml100k(tmp_path / "ml-100k")
    data = movielens.load_variant("movielens-100k", data_dir=tmp_path, min_rating=4)
    assert data.n_interactions == int((ratings.rating >= 4).sum())
    assert data.ratings.nnz == len(ratings)
    # the splits only name pairs that are in the implicit matrix
    keys = data.extras["predefined_splits"]["ua"]
    rows = keys // data.n_items
    assert np.all(np.asarray(data.interactions[rows, keys % data.n_items]).ravel() == 1.0)


def test_movielens_100k_from_the_zip(tmp_path):
    write_ml100k(tmp_path / "src")
    (tmp_path / "dl").mkdir()
    zip_folder(tmp_path / "src", tmp_path / "dl" / "ml-100k.zip", "ml-100k")
    from_zip = movielens.load_variant("movielens-100k", data_dir=tmp_path / "dl")
    from_folder = movielens.load_variant("movielens-100k", data_dir=tmp_path / "src")
    assert from_zip.fingerprint == from_folder.fingerprint
    assert "ml-100k.zip" in from_zip.extras["source_path"]
    assert len(from_zip.extras["predefined_splits"]["u1"]) == 40


def test_movielens_csv_formats(tmp_path):
    ratings = write_ml_csv(tmp_path / "ml-latest-small")
    data = movielens.load_variant("movielens-latest-small", data_dir=tmp_path)
    assert data.n_interactions == len(ratings)
    items = data.items.set_index("item_id")
    assert items.at["50", "name"] == "Usual Suspects, The (1995)"
    assert items.at["193609", "name"] == 'Andrew Dice Clay: "Dice Rules" (1991)'
    assert items.at["193609", "category"] == ""
    assert items.at["1", "category"] == "Adventure"
    assert items.at["1", "tags"][:5] == ["Adventure", "Animation", "Children", "Comedy", "Fantasy"]
    assert items.at["1", "tags"][5:] == ["pixar", "fun, for kids"]  # most used first, deduped
    assert items.at["50", "tags"] == ["Crime", "Mystery", "Thriller", "twist ending", "comedy"]
    assert items.at["1", "url"] == "https://movielens.org/movies/1"
    assert "999" not in set(data.item_ids)  # listed but never rated
    assert data.ratings[data.user_index(3), data.item_index(2)] == 0.5
    same = movielens.load_variant("movielens-25m", data_dir=tmp_path / "ml-latest-small")
    assert same.n_interactions == data.n_interactions and same.name == "movielens-25m"


def test_movielens_dat_format(tmp_path):
    write_ml_dat(tmp_path / "ml-1m")
    data = movielens.load_variant("movielens-1m", data_dir=tmp_path, min_rating=3)
    assert (data.n_users, data.n_items, data.ratings.nnz) == (3, 3, 5)
    assert data.n_interactions == 3
    items = data.items.set_index("item_id")
    assert items.at["3408", "name"] == "Amélie: Le Fabuleux Destin (2001)"
    assert items.at["661", "tags"] == ["Animation", "Children's", "Musical"]
    assert data.timestamps[data.user_index(1), data.item_index(1193)] == 978300760


def test_movielens_missing_and_bad_options(fresh_home, tmp_path):
    with pytest.raises(DatasetError, match="fetch movielens-1m"):
        load_dataset("movielens-1m")
    with pytest.raises(DatasetError, match="u.data"):
        movielens.load_variant("movielens-100k", data_dir=tmp_path)
    write_ml100k(tmp_path / "x")
    with pytest.raises(DatasetError, match="min_rating"):
        movielens.load_variant("movielens-100k", data_dir=tmp_path, threshold=3)


def test_movielens_md5s_are_pinned():
    assert movielens.VARIANTS["movielens-100k"].md5 == "0e33842e24a9c977be4e0107933c0723"
    assert movielens.VARIANTS["movielens-latest-small"].md5 is None  # it changes upstream
    assert movielens.url_for(movielens.VARIANTS["movielens-20m"]) == (
        "https://files.grouplens.org/datasets/movielens/ml-20m.zip"
    )
    assert replace(movielens.VARIANTS["movielens-1m"], md5=None).zip_name == "ml-1m.zip"


# ---------------------------------------------------------------------- tabular
def test_tabular_csv_tsv_psv_parquet_agree(tmp_path):
    frame = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u2", "u3", "u3", "u3"],
            "item_id": [10, 11, 10, 12, 11, 10],
            "count": [1, 2, 3, 1, 1, 5],
            "ts": [100, 200, 300, 400, 500, 600],
        }
    )
    frame.to_csv(tmp_path / "a.csv", index=False)
    frame.to_csv(tmp_path / "a.tsv", index=False, sep="\t")
    frame.to_csv(tmp_path / "a.psv", index=False, sep="|")
    frame.to_csv(tmp_path / "a.txt", index=False, sep=";")
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "a.parquet")
    loaded = [
        tabular.load_file(tmp_path / f"a.{ext}") for ext in ("csv", "tsv", "psv", "txt", "parquet")
    ]
    reference = Dataset.from_frame(
        "a",
        frame.rename(
            columns={"user_id": "user", "item_id": "item", "count": "weight", "ts": "timestamp"}
        ),
    )
    for data in loaded:
        assert data.fingerprint == reference.fingerprint
        assert data.extras["columns"] == {
            "user": "user_id",
            "item": "item_id",
            "weight": "count",
            "timestamp": "ts",
        }
    assert loaded[0].interactions[loaded[0].user_index("u3"), loaded[0].item_index(10)] == 5.0


def test_tabular_column_names_and_mappings(tmp_path):
    (tmp_path / "ml.csv").write_text("userId,movieId,rating,timestamp\n1,5,4.5,10\n2,5,2,11\n")
    data = load_dataset(str(tmp_path / "ml.csv"), min_rating=3)
    assert data.ratings is not None and data.n_interactions == 1
    (tmp_path / "custom.csv").write_text("customer,sku,qty\nc1,s1,2\nc2,s1,1\n")
    data = tabular.load_file(
        tmp_path / "custom.csv", columns={"user": "customer", "item": "sku", "weight": "qty"}
    )
    assert data.interactions.sum() == 3.0
    (tmp_path / "u.data").write_text("1\t5\t3\t881250949\n2\t5\t4\t881250950\n")
    data = tabular.load_file(
        tmp_path / "u.data", columns=["user", "item", "rating", "timestamp"], sep="\t"
    )
    assert (data.n_users, data.n_items, data.ratings.nnz) == (2, 1, 2)
    (tmp_path / "w.csv").write_text("uid,mid,weight\na,b,3\n")
    ignored = tabular.load_file(tmp_path / "w.csv", columns={"weight": None})
    assert ignored.interactions.sum() == 1.0


def test_tabular_items_file(tmp_path):
    (tmp_path / "likes.csv").write_text("user,item\nu1,7\nu2,7\nu2,8\n")
    items = pd.DataFrame(
        {
            "id": ["7", "8"],
            "title": ["Red Fox", "Blue Whale"],
            "image_url": ["https://example.org/7.png", ""],
            "category": ["animals", "sea"],
            "tags": ["lowpoly|fox", "whale;sea"],
            "price": ["3", "4"],
        }
    )
    items.to_csv(tmp_path / "items.csv", index=False)
    data = tabular.load_file(tmp_path / "likes.csv", items_path=tmp_path / "items.csv")
    meta = data.items.set_index("item_id")
    assert meta.at["7", "name"] == "Red Fox"
    assert meta.at["7", "tags"] == ["lowpoly", "fox"]
    assert meta.at["8", "tags"] == ["whale", "sea"]
    assert meta.at["7", "image_url"] == "https://example.org/7.png"
    assert meta.at["8", "price"] == "4"


def test_tabular_string_timestamps(tmp_path):
    (tmp_path / "t.csv").write_text(
        "user,item,timestamp\na,x,2021-03-04T10:00:00Z\na,y,2021-03-05 00:00:00\n"
    )
    data = tabular.load_file(tmp_path / "t.csv")
    seconds = data.timestamps[data.user_index("a"), data.item_index("x")]
    assert seconds == pd.Timestamp("2021-03-04T10:00:00Z").timestamp()


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "7", "10", "é"]),
            st.integers(0, 5),
            st.integers(0, 3),
            st.integers(1, 5),
            st.integers(0, 4),
        ),
        min_size=1,
        max_size=40,
    ),
    column=st.sampled_from([None, "weight", "rating"]),
    with_time=st.booleans(),
    min_rating=st.sampled_from([None, 3.0]),
)
def test_build_dataset_matches_from_frame(rows, column, with_time, min_rating):
    frame = pd.DataFrame(rows, columns=["user", "item", "weight", "rating", "timestamp"])
    keep = ["user", "item"] + ([column] if column else []) + (["timestamp"] if with_time else [])
    frame = frame[keep]
    if column == "weight" and not (frame["weight"] != 0).any():
        frame.loc[0, "weight"] = 1
    expected = Dataset.from_frame("x", frame, min_rating=min_rating)
    built = tabular.build_dataset(
        "x",
        frame["user"],
        frame["item"],
        weight=frame["weight"].to_numpy(np.float32) if column == "weight" else None,
        rating=frame["rating"].to_numpy(np.float32) if column == "rating" else None,
        timestamp=frame["timestamp"].to_numpy(np.float64) if with_time else None,
        min_rating=min_rating,
    )
    assert built.fingerprint == expected.fingerprint
    assert list(built.items["item_id"]) == list(expected.items["item_id"])


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(1, 2), st.integers(0, 2)),
        min_size=1,
        max_size=40,
    ),
    with_weight=st.booleans(),
    with_time=st.booleans(),
)
def test_drop_duplicates_matches_pandas(rows, with_weight, with_time):
    frame = pd.DataFrame(rows, columns=["user", "item", "weight", "timestamp"])
    frame = frame[["user", "item"] + ["weight"] * with_weight + ["timestamp"] * with_time]
    expected = Dataset.from_frame("x", frame.drop_duplicates())
    built = tabular.build_dataset(
        "x",
        frame["user"],
        frame["item"],
        weight=frame["weight"].to_numpy(np.float32) if with_weight else None,
        timestamp=frame["timestamp"].to_numpy(np.float64) if with_time else None,
        drop_duplicates=True,
    )
    assert built.fingerprint == expected.fingerprint
    assert built.extras["duplicates_dropped"] == len(frame) - len(frame.drop_duplicates())


def test_sketchfab_big_file_with_newlines_in_names(tmp_path):
    """Big enough (> 5 MB) for pandas' parallel reader, with quoted newlines everywhere."""
    rng = np.random.default_rng(0)
    kinds = ["plain", "with\nnewline", "pipe|x", 'q"uote', "back\\slash", "multi\nline|\\"]
    rows = [
        [f"{kinds[k]} {i}", f"m{i % 5000:05d}", f"u{i % 7001:05d}"]
        for i, k in enumerate(rng.integers(0, len(kinds), 180_000))
    ]
    with open(tmp_path / sketchfab.LIKES_FILE, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="|", quotechar="\\", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(["modelname", "mid", "uid"])
        writer.writerows(rows)
    assert (tmp_path / sketchfab.LIKES_FILE).stat().st_size > 5 << 20
    likes, dropped = sketchfab.read_likes(tmp_path / sketchfab.LIKES_FILE)
    assert dropped == 0
    assert likes.to_numpy().tolist() == rows


def test_tabular_reads_a_recasketch_file_by_path(tmp_path):
    write_sketchfab(tmp_path)
    with pytest.warns(UserWarning, match="2 duplicate rows"):
        as_file = load_dataset(str(tmp_path / sketchfab.LIKES_FILE))
    as_source = sketchfab.load(data_dir=tmp_path)
    assert as_file.extras["columns"] == {"user": "uid", "item": "mid"}
    assert as_file.interactions.nnz == as_source.interactions.nnz
    assert (as_file.interactions != as_source.interactions).nnz == 0
