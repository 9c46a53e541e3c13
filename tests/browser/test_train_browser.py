"""Training from the sidebar in the browser: pick an algorithm, set a parameter, train, browse."""

from __future__ import annotations

from datetime import UTC, datetime

from recsys_core.store import ModelStore

from .conftest import screenshot, wait_for_app


def test_train_a_model_from_the_form_and_see_its_grid(page, app_url, app_models):
    started = datetime.now(UTC)
    page.goto(f"{app_url}/similar?dataset=demo&model={app_models['als']}")
    wait_for_app(page)
    sidebar = page.locator("section[data-testid='stSidebar']")
    sidebar.get_by_text("Train a model").click()
    algorithm = sidebar.locator("[data-testid='stSelectbox']").filter(
        has=page.get_by_text("Algorithm", exact=True)
    )
    algorithm.click()
    page.get_by_role("option", name="Item k-NN", exact=True).click()
    wait_for_app(page)
    k_input = sidebar.get_by_label("Neighbours per item (K)", exact=True)  # the key stays K
    k_input.fill("7")  # inside the form: sent with the Train button
    sidebar.get_by_role("button", name="Train").click()
    page.wait_for_function(
        "old => { const m = new URLSearchParams(location.search).get('model');"
        " return m && m !== old && m.startsWith('item-knn'); }",
        arg=app_models["item-knn"],
        timeout=90_000,
    )
    wait_for_app(page)
    page.wait_for_selector(".rx-grid a.rx-name")
    model_id = page.evaluate("new URLSearchParams(location.search).get('model')")
    meta = ModelStore().meta(model_id)
    assert meta["params"]["K"] == 7
    # trained now, not reused (the toast saying so may be gone by now on a loaded machine)
    created = datetime.fromisoformat(meta["created"].replace("Z", "+00:00"))
    assert created.astimezone(UTC) >= started.replace(microsecond=0)
    screenshot(page, "trained-from-the-form")
