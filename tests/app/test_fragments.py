"""ui/fragments.py: a fragment's own rerun turns into a page rerun when a carried parameter
(dataset, model, item, user) changed since the page's full run, and only then."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _script():
    import streamlit as st

    from recsys_core.ui import fragments

    fragments.mark_full_run()
    before = fragments.stale()
    change = st.query_params.get("change")
    if change:
        st.query_params[change] = "changed"
    st.markdown(f"{before} {fragments.stale()}")


def _stale_after(change: str | None) -> list[str]:
    at = AppTest.from_function(_script)
    at.query_params.update({"dataset": "demo", "model": "m1", "item": "i1"})
    if change:
        at.query_params["change"] = change
    at.run()
    assert not at.exception
    return at.markdown[0].value.split()


def test_a_carried_parameter_makes_the_fragment_stale():
    for carried in ("dataset", "model", "item", "user"):
        assert _stale_after(carried) == ["False", "True"], carried


def test_a_page_parameter_does_not():
    assert _stale_after("colour") == ["False", "False"]
    assert _stale_after("k") == ["False", "False"]
    assert _stale_after(None) == ["False", "False"]
