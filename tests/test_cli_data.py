"""The dataset verbs: ``datasets``, ``fetch``, ``info`` (subprocess for the exit-code contract)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from recsys_core import config, datasets
from recsys_core.cli import main
from recsys_core.datasets import demo


def run_cli(*args: str, home) -> subprocess.CompletedProcess:
    env = {**os.environ, "RECSYS_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "recsys_core", *args],
        cwd=config.PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_info_demo_json_in_a_fresh_process(tmp_path):
    result = run_cli("info", "demo", "--json", home=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)  # stdout carries only the JSON
    for key in ("n_users", "n_items", "n_interactions", "density", "example_item", "example_user"):
        assert key in summary
    assert (summary["n_users"], summary["n_items"]) == (8_000, 3_000)
    assert summary["density"] == pytest.approx(summary["n_interactions"] / (8_000 * 3_000))
    assert "synthetic demo data" in summary["label"] and summary["synthetic"] is True
    # the figures are the dataset's own: the example item is the most liked one
    data = demo.generate(0)
    assert summary["fingerprint"] == data.fingerprint
    assert summary["example_item"] == data.item_ids[data.item_counts.argmax()]
    assert summary["example_user"] == data.user_ids[data.user_counts.argmax()]
    assert demo.cache_path(0).relative_to(config.home()).parts[:2] == ("datasets", "demo")
    assert (tmp_path / "datasets" / "demo").is_dir()  # cached under the given RECSYS_HOME


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("info", "no-such-dataset"), "Unknown dataset 'no-such-dataset'"),
        (("info", "missing/likes.csv"), "does not exist"),
        (("info", "demo", "--data-dir", "no/such/dir"), "does not exist"),
        (("fetch", "no-such-dataset"), "Unknown dataset"),
    ],
)
def test_user_mistakes_exit_2_with_one_sentence(tmp_path, args, fragment):
    result = run_cli(*args, home=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_info_human_readable(fresh_home, capsys):
    assert main(["info", "demo"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("demo (synthetic demo data)\n")
    assert "8,000" in out and "3,000" in out
    data = datasets.load_dataset("demo")
    assert data.example_item in out and data.item_name(data.item_index(data.example_item)) in out
    assert f"{data.n_interactions:,}" in out and f"{data.density:.2%}" in out


def test_datasets_lists_the_demo(fresh_home, capsys):
    assert main(["datasets", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["datasets"]
    by_name = {row["name"]: row for row in rows}
    assert by_name["demo"]["local"] is True and by_name["demo"]["synthetic"] is True
    assert "synthetic demo data" in by_name["demo"]["description"]
    assert main(["datasets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "ON", "DISK", "DESCRIPTION"]
    demo_line = next(line for line in lines if line.startswith("demo "))
    assert demo_line.split()[1] == "yes"


def test_fetch_demo_prepares_its_cache(fresh_home, capsys):
    assert main(["fetch", "demo"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(fresh_home / "datasets" / "demo")
    assert "generated locally" in captured.err
    assert demo.cache_path(0).is_file()


def test_info_reports_a_damaged_cache_on_stderr_and_still_answers(fresh_home, capsys):
    datasets.load_dataset("demo")
    demo.cache_path(0).write_bytes(b"\x00" * 100)
    datasets.clear_memo()
    assert main(["info", "demo", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["n_users"] == 8_000
    assert "warning: The demo cache" in captured.err and "regenerating" in captured.err
