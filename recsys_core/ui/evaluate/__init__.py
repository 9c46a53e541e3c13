"""The Evaluate page: held-out metrics of stored models, learning curves and hyperparameter
search, under one protocol (split, seed, k) kept in the URL.

Nothing here computes a metric or writes the store: :mod:`recsys_core.evaluation` (and its
:mod:`~recsys_core.evaluation.workflow`: evaluate-or-reuse, the store writes, the disk cache)
and :mod:`recsys_core.tuning` do; these modules draw.

- :mod:`.protocol`: the URL parameters, session keys, the protocol's controls and tabs;
- :mod:`.results`: the Metrics section (pick, evaluate, the four tables, definitions, CLI);
- :mod:`.per_user`: the per-user histograms and slices under the tables;
- :mod:`.curves`: the Learning curves section;
- :mod:`.search`: the Search section (grid or random, its table, saving the best);
- :mod:`.figures`: the Plotly figures the sections draw.

Heavy work runs only on a button press. The protocol and the open section are one fragment
(:func:`body`); the two charts under the table are fragments of their own.
"""

from __future__ import annotations

import streamlit as st

from ...dataset import Dataset
from .. import fragments, state
from ..steering_sweep import section as steering_sweep
from .curves import curves_section
from .protocol import OUTCOME_KEY, protocol_controls, section_tabs
from .results import metrics_section
from .search import search_section

__all__ = ["body"]


@fragments.fragment
def body(data: Dataset, spec: str) -> None:
    """The protocol and the open section. A fragment: changing the split, k, the seed, the
    section or a control inside a section reruns this part only."""
    proto = protocol_controls(data)
    tabs = section_tabs()
    view = state.view()
    with tabs["Metrics"]:
        if tabs["Metrics"].open:
            metrics_section(data, spec, view, proto)
        else:  # a note left by an Evaluate press is not shown on a later visit
            st.session_state.pop(OUTCOME_KEY, None)
    with tabs["Learning curves"]:
        if tabs["Learning curves"].open:
            curves_section(data, view, proto)
    with tabs["Search"]:
        if tabs["Search"].open:
            search_section(data, spec, view, proto)
    steering_sweep(data, spec, proto)  # it follows the protocol
