"""Training in a job from the sidebar, in Chromium: progress, Cancel, then a training that
finishes and becomes the model on screen, while a second page of the same server keeps
browsing (a thumbnail click shows its new grid during the training).

The server runs with RECSYS_BACKGROUND_TRAINING=0, so the demo trains in a job like a large
dataset would.
"""

from __future__ import annotations

import time

import pytest

from recsys_core import training_jobs
from recsys_core.algorithms import parse_params
from recsys_core.datasets import load_dataset
from recsys_core.store import ModelStore

from .conftest import screenshot, serve_app, wait_for_app

SLOW = {"iterations": 3000, "factors": 12}
QUICK = {"iterations": 6, "factors": 12}
GRID = (
    "() => [...document.querySelectorAll('[data-testid=stMain] .rx-grid a[href]')]"
    ".map(a => a.getAttribute('href')).join(' ')"
)


@pytest.fixture(scope="module")
def jobs_url(app_models, session_home):
    """A server of this module's own, where every training from the sidebar is a job."""
    every_job = {training_jobs.BACKGROUND_ENV: "0"}
    with serve_app(session_home, "streamlit-jobs.log", **every_job) as url:
        yield url


def _key(params: dict) -> str:
    data = load_dataset("demo")
    return training_jobs.job_key(data.fingerprint, "als", parse_params("als", params))


def _train(page, params: dict) -> None:
    sidebar = page.locator("section[data-testid='stSidebar']")
    expander = sidebar.get_by_text("Train a model")
    if not sidebar.get_by_label("Latent factors", exact=True).is_visible():
        expander.click()
    sidebar.get_by_label("Latent factors", exact=True).fill(str(params["factors"]))
    sidebar.get_by_label("Training passes", exact=True).fill(str(params["iterations"]))
    sidebar.get_by_role("button", name="Train", exact=True).click()


def _model(page) -> str:
    return page.evaluate("() => new URLSearchParams(location.search).get('model') || ''")


def test_train_in_a_job_cancel_it_then_let_one_finish_while_another_page_browses(
    browser, page, jobs_url, app_models
):
    start_url = f"{jobs_url}/similar?dataset=demo&model={app_models['als']}"
    sent: list[float] = []  # when the page sent the server something (a rerun, a poll)
    page.on("websocket", lambda ws: ws.on("framesent", lambda _: sent.append(time.monotonic())))
    page.goto(start_url)
    wait_for_app(page)
    sidebar = page.locator("section[data-testid='stSidebar']")
    slow = _key(SLOW)
    _train(page, SLOW)
    bar = sidebar.locator("[data-testid='stProgress']")
    bar.filter(has_text="Epoch").first.wait_for(timeout=90_000)
    text = bar.filter(has_text="Epoch").first.inner_text()
    polled = len(sent)
    assert f"of {SLOW['iterations']}" in text and " s" in text, text
    assert sidebar.get_by_text("Training ALS (WRMF)").first.is_visible()
    cancel = sidebar.get_by_role("button", name="Cancel")
    assert cancel.is_visible()
    page.wait_for_timeout(2500)
    assert len(sent) > polled, "the progress fragment polls while the job runs"
    sidebar.get_by_text("Training ALS (WRMF)").first.scroll_into_view_if_needed()
    screenshot(page, "sidebar-training-job")

    # meanwhile, a second page of the same server browses: a thumbnail click, a new grid
    other = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    other.set_default_timeout(60_000)
    other.goto(start_url)
    wait_for_app(other)
    assert training_jobs.status(slow).active
    before, grid = _model(other), other.evaluate(GRID)
    item_before = other.evaluate("() => new URLSearchParams(location.search).get('item')")
    began = time.perf_counter()
    other.locator("[data-testid=stMain] .rx-grid a.rx-thumb").first.click()
    other.wait_for_function(
        "v => new URLSearchParams(location.search).get('item') !== v", arg=item_before
    )
    other.wait_for_function(f"g => ({GRID})() !== g", arg=grid)
    clicked = time.perf_counter() - began
    assert _model(other) == before
    assert training_jobs.status(slow).active, "the click was measured during the training"
    assert clicked < 20, f"a click took {clicked:.1f} s during the training"
    other.context.close()

    # cancel: the sentence, no model, the model on screen stays
    cancel.click()
    sidebar.get_by_text("was cancelled").wait_for(timeout=60_000)
    said = sidebar.get_by_text("was cancelled").inner_text()
    assert said.startswith("Training ALS (WRMF) was cancelled after ")
    assert "nothing was saved" in said
    assert training_jobs.status(slow).state == "cancelled"
    assert not ModelStore().exists(slow)
    assert _model(page) == app_models["als"]
    assert sidebar.locator("[data-testid='stProgress']").count() == 0

    # again, short enough to finish: its model becomes the one on screen
    quick = _key(QUICK)
    _train(page, QUICK)
    page.wait_for_function(
        "key => new URLSearchParams(location.search).get('model') === key",
        arg=quick,
        timeout=120_000,
    )
    wait_for_app(page)
    assert ModelStore().exists(quick)
    assert ModelStore().meta(quick)["params"]["iterations"] == QUICK["iterations"]
    page.wait_for_selector(".rx-grid a.rx-name")
    assert sidebar.locator("[data-testid='stProgress']").count() == 0
    quiet = time.monotonic()
    page.wait_for_timeout(3000)  # nothing polls any more: no rerun request, the page stays
    assert [t for t in sent if t > quiet] == []
    assert _model(page) == quick
    assert page.locator("[data-testid=stException]").count() == 0
