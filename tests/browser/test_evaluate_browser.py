"""The Evaluate page in a real browser: press Evaluate, the metrics table appears."""

from __future__ import annotations

from recsys_core.store import ModelStore

from .conftest import screenshot, wait_for_app

PROTOCOL = "holdout:5:seed=3@k=7"  # a protocol no other test evaluates


def test_evaluate_shows_the_table(page, app_url, app_models):
    model_id = app_models["als"]
    page.goto(f"{app_url}/evaluate?dataset=demo&model={model_id}&seed=3&eval_k=7")
    wait_for_app(page)
    main = page.get_by_test_id("stMain")
    main.get_by_text("Not evaluated on 5 held-out likes per user · seed 3 · top 7 yet").wait_for()
    assert main.get_by_test_id("stDataFrame").count() == 0

    main.get_by_role("button", name="Evaluate").click()
    main.get_by_test_id("stDataFrame").first.wait_for(timeout=120_000)
    wait_for_app(page)
    assert (
        main.get_by_text("Accuracy: how many held-out likes the top k finds", exact=True).count()
        == 1
    )
    assert main.get_by_text("Measured on 5 held-out likes per user · seed 3 · top 7").count() == 1
    assert main.get_by_text("Evaluated 1 model(s)").count() == 1
    assert main.get_by_test_id("stDataFrame").count() == 4  # hits, ranks, beyond, cost
    assert main.locator(".js-plotly-plot").count() == 2  # per-user histogram, slices
    recorded = ModelStore().meta(model_id)["metrics"][PROTOCOL]
    assert recorded["k"] == 7 and 0 < recorded["precision"] <= 1
    screenshot(page, "evaluate-after-run")
    assert not page.dialogs
