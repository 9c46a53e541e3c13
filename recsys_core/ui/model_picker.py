"""The sidebar's model picker: the stored models of the current dataset, named in words
(:func:`model_label`, the one way a stored model is named), bound to the first model of the URL's
``model``; damaged models listed apart with the reason."""

from __future__ import annotations

import streamlit as st

from .. import words
from ..algorithms import get_algorithm
from ..dataset import Dataset
from ..errors import UserError
from ..training import wants_first_model
from . import loaders, state, text


def _metric_summary(metrics: dict | None) -> str:
    """' · top-10 precision 0.123' from the latest stored evaluation ('' without one)."""
    if not metrics:
        return ""
    plain = [v for key, v in metrics.items() if words.RERANK_SEPARATOR not in str(key)]
    if not plain:  # only re-ranked evaluations: the label names the model's own lists
        return ""
    latest = plain[-1]
    if isinstance(latest, dict) and isinstance(latest.get("precision"), int | float):
        return f" · top-{latest.get('k', 10)} precision {float(latest['precision']):.3f}"
    return ""  # none stored, or NaN written as null


def _trained_at(created: str | None) -> str:
    """'3 Dec 14:05' (server time) from an ISO timestamp; '' if there is none."""
    then = loaders.parse_created(created)
    if then is None:
        return ""
    then = then.astimezone() if then.tzinfo else then
    return f"{then.day} {then:%b %H:%M}"


def params_text(algorithm: str | None, params: dict | None, limit: int = 4) -> str:
    """The parameters that differ from the defaults, in words and schema order ("defaults" if
    none): "latent factors 16, training passes 3"."""
    text_ = words.params_label(str(algorithm), params, limit=limit, changed_only=True)
    return text_ or "defaults"


def _seed_of(entry: dict) -> str:
    """' · seed 11' when the model's seed is not its algorithm's default ('' otherwise): two
    models that differ only by their seed keep different names."""
    params = entry.get("params") or {}
    try:
        schema = {p.name: p for p in get_algorithm(str(entry.get("algorithm"))).params}
    except UserError:
        return ""
    for key in ("random_state", "seed"):
        if key in params and key in schema and params[key] != schema[key].default:
            return f" · seed {params[key]}"
    return ""


def _row_name(entry: dict) -> str:
    """A model as a table row or a chart legend names it (see :func:`model_label`)."""
    text_ = params_text(entry.get("algorithm"), entry.get("params"))
    name = f"{words.algorithm_label(str(entry.get('algorithm')))} · {text_}{_seed_of(entry)}"
    variant = str(entry.get("variant") or "")
    if variant.startswith("split="):
        name += f" · trained on {words.split_label(variant)}"
    elif variant:
        name += f" · {variant}"
    if text_.endswith("…"):
        name += f" · {entry['model_id']}"
    return name


def model_label(entry: dict, *, row: bool = False) -> str:
    """'ALS (WRMF) · latent factors 40, … · 3 Dec 14:05 · top-10 precision 0.123'.

    The algorithm and the parameters that differ from its defaults in words
    (:func:`recsys_core.words.params_label`), when it was trained, and the precision of its
    latest stored evaluation. The same text from one minute to the next (no "3 min ago"): the
    browser keeps a select box's choice as its label, so a label that changes by itself would
    lose the choice.

    With ``row=True``, the name of a model as a row of a metrics table or a chart's legend
    (Evaluate): 'ALS (WRMF) · latent factors 16, training passes 3 · seed 11', with up to four
    parameters ("defaults" if none), the seed when it is not the default, the split a model was
    trained on, and the id when the parameters do not fit. Both are needed: a row's name must be
    unique among the dataset's models (it indexes the table) and must not carry a precision or a
    date (the numbers stand beside it, and it stays the same after an evaluation), while the
    picker's label tells models apart by when they were trained and how well they did.
    """
    if row:
        return _row_name(entry)
    algorithm = entry.get("algorithm")
    params = words.params_label(str(algorithm), entry.get("params"), limit=2, changed_only=True)
    name = words.algorithm_label(str(algorithm))
    label = f"{name} · {params}" if params else name
    when = _trained_at(entry.get("created"))
    return label + (f" · {when}" if when else "") + _metric_summary(entry.get("metrics"))


def model_picker(data: Dataset, spec: str, view: state.View) -> None:
    """The model select box, bound to the first model of the URL's ``model`` (the one every
    single-model page shows). The other models of a comparison stay in the URL behind it."""
    entries = loaders.model_entries(data.fingerprint)
    good = [e for e in entries if not e.get("damaged")]
    damaged = [e for e in entries if e.get("damaged")]
    if not good and wants_first_model(data):  # the page is training it (ui/first_visit.py)
        st.caption("Training a first model on the demo: it appears here in a few seconds.")
    elif not good:
        st.info("No trained model for this dataset yet: train one below.")
    else:
        ids = [e["model_id"] for e in good]
        labels = {e["model_id"]: model_label(e) for e in good}
        if view.model not in ids:  # none named, or one not stored: the newest, in the URL
            broken = next((e for e in damaged if e.get("model_id") == view.model), None)
            if broken is not None:
                reason = broken["damaged"]
                text.warning(f"Model {view.model} is damaged ({reason}); showing another.")
            elif view.model:
                text.warning(f"Model {view.model!r} is not stored for this dataset; pick another.")
            state.set_view(models=[ids[0], *(m for m in view.models[1:] if m != ids[0])])

        def first(raw: str) -> str | None:
            models = state.parse_list(raw)
            return models[0] if models else None

        def in_front(model_id: str) -> str:
            others = state.parse_list(st.query_params.get(state.MODEL))[1:]
            return state.dump_list([model_id, *(m for m in others if m != model_id)])

        state.bound(
            st.selectbox,
            "Model",
            key="sidebar_model",
            param=state.MODEL,
            default=None,  # always in the URL
            parse=first,
            dump=in_front,
            valid=ids,
            options=ids,
            format_func=lambda option: labels.get(option, option),
            label_visibility="collapsed",
        )
    if damaged:
        with st.expander(f"{len(damaged)} damaged model(s)", icon=":material/warning:"):
            for entry in damaged:
                text.caption(f"{entry['model_id']}: {entry['damaged']}")
