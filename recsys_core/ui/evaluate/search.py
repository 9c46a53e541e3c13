"""The Evaluate page's Search section: a grid or random search of one algorithm's parameters
(:func:`recsys_core.tuning.tune`, resumable: its rows are saved as they finish), its table and
parallel coordinates, and saving the best candidate
(:func:`recsys_core.evaluation.workflow.evaluate_and_save`). The algorithm, the mode and the
metric are bound to the URL (``search_algo``, ``search_mode``, ``search_metric``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from ... import evaluation, tuning, words
from ...algorithms import algorithms, get_algorithm
from ...dataset import Dataset
from ...datasets import recorded_source
from ...errors import ParameterError, UserError
from ...evaluation import workflow
from .. import loaders, state, text
from ..model_picker import params_text
from .figures import parcoords_figure
from .protocol import (
    EVAL_K,
    SEARCH_ALGO_KEY,
    SEARCH_ALGORITHM,
    SEARCH_LAST,
    SEARCH_METRIC,
    SEARCH_MODE,
    SEARCH_MODE_KEY,
    SEARCH_SAVE_KEY,
    SECTION,
    SEED,
    SPLIT,
    Protocol,
    default_algorithm,
    metric_help,
    metric_words,
    view_entry,
)

SEARCH_MODES = {"grid": "Grid", "random": "Random"}


# ---------------------------------------------------------------------------- the request
def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def search_request(
    algorithm: str,
    mode: str,
    texts: dict[str, str],
    sampled: Sequence[str],
    n_random: int,
    metric: str,
    budget: float,
    proto: Protocol,
) -> dict:
    """The form's answers as a :func:`recsys_core.tuning.tune` request (a plain dict).

    Grid: every parameter with two or more comma-separated values is searched; single values
    that differ from the default are fixed. Random: the ``sampled`` parameters are drawn from
    the schema's ranges ``n_random`` times, the rest stay at their defaults.
    """
    schema = {p.name: p for p in get_algorithm(algorithm).params}
    request: dict[str, Any] = {
        "algorithm": algorithm,
        "metric": metric,
        "budget": float(budget) if budget else None,
        "split": proto.split,
        "seed": proto.seed,
        "k": proto.k,
    }
    if mode == "grid":
        grid: dict[str, list[str]] = {}
        fixed: dict[str, str] = {}
        for name, text_ in texts.items():
            values = [v.strip() for v in str(text_).split(",") if v.strip()]
            if not values:
                raise ParameterError(
                    f"Give {name} at least one value (its default is "
                    f"{_value_text(schema[name].default)})."
                )
            parsed = [schema[name].parse(v) for v in values]  # a bad value fails here
            if len(values) > 1:
                grid[name] = values
            elif parsed[0] != schema[name].default:
                fixed[name] = values[0]
        if not grid:
            raise ParameterError(
                "Give at least one parameter two or more comma-separated "
                "values, e.g. factors = 16, 32."
            )
        request.update({"grid": grid, "fixed": fixed or None})
    else:
        if not sampled:
            raise ParameterError("Choose at least one parameter to sample.")
        request.update({"n_random": int(n_random), "space": {name: None for name in sampled}})
    return request


def run_search(
    data: Dataset,
    spec: str,
    request: dict,
    *,
    save_best: bool,
    progress: Callable[[float, str], None] | None = None,
) -> tuning.TuningResult:
    """Run (or resume) the search of a request; the same request always resumes the same file."""
    return tuning.tune(
        data,
        request["algorithm"],
        grid=request.get("grid"),
        n_random=request.get("n_random"),
        space=request.get("space"),
        fixed=request.get("fixed"),
        split_spec=request["split"],
        k=request["k"],
        metric=request["metric"],
        seed=request["seed"],
        budget=request.get("budget"),
        progress=progress,
        resume=True,
        save_best=save_best,
        source=recorded_source(spec),
    )


def save_best(
    data: Dataset,
    spec: str,
    request: dict,
    params: dict,
    results_path: str,
    progress: Callable[[float, str], None] | None = None,
) -> str:
    """Fit the best candidate on the split's train part and store it with its metrics (as
    ``tune`` does when it saves), slices and per-user values included; returns its id.

    Fits only that candidate: a search stopped by its budget is not resumed by saving.
    """
    proto = Protocol(request["split"], request["seed"], request["k"])
    extra = {"tuning": {"metric": request["metric"], "results": Path(results_path).name}}
    return workflow.evaluate_and_save(
        data,
        request["algorithm"],
        params,
        proto,
        source=recorded_source(spec),
        extra=extra,
        progress=progress,
    )


# ------------------------------------------------------------------------------- the form
def _search_form(algorithm: str, mode: str) -> tuple[dict[str, str], list[str], int, float, bool]:
    """The parameters' form of a grid (comma-separated values) or a random search (which to
    draw, how many candidates) and the time budget; returns the answers and whether *Search*
    was pressed."""
    cls = get_algorithm(algorithm)
    with st.form(f"eval_search_form_{algorithm}_{mode}", border=True):
        texts: dict[str, str] = {}
        sampled: list[str] = []
        n_random = 0
        if mode == "grid":
            columns = st.columns(3)
            for position, param in enumerate(cls.params):
                helper = param.help + (
                    f" Choices: {', '.join(map(str, param.choices))}." if param.choices else ""
                )
                texts[param.name] = columns[position % 3].text_input(
                    param.label,
                    value=_value_text(param.default),
                    help=helper,
                    key=f"eval_grid_{algorithm}_{param.name}",
                )
        else:
            left, right = st.columns([3, 1])
            labels = {p.name: p.label for p in cls.params}
            sampled = left.multiselect(
                "Parameters to draw",
                [p.name for p in cls.params],
                default=tuning.default_space(algorithm),
                key=f"eval_random_{algorithm}_params",
                format_func=lambda key: labels.get(key, key),
            )
            n_random = right.number_input("Candidates", 1, 500, 8, key="eval_random_n")
        left, middle, right = st.columns(3, vertical_alignment="bottom")
        budget = left.number_input(
            "Time budget in seconds (0: none)", 0, 24 * 3600, 0, step=30, key="eval_search_budget"
        )
        submitted = middle.form_submit_button(
            "Search", type="primary", icon=":material/tune:", key="eval_search_run", width="stretch"
        )
    return texts, sampled, n_random, budget, submitted


def _search(data: Dataset, spec: str, request: dict) -> None:
    """Run the search of ``request`` with a progress bar; keeps its result as the one shown."""
    bar = st.progress(0.0, text="Starting the search…")
    try:
        result = run_search(
            data,
            spec,
            request,
            save_best=False,
            progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=text.md_escape(m)),
        )
    except UserError as error:
        bar.empty()
        text.error(str(error))
        return
    bar.empty()
    st.session_state[SEARCH_LAST] = {
        "fingerprint": data.fingerprint,
        "request": request,
        "result": result.to_dict(),
    }


def search_section(data: Dataset, spec: str, view: state.View, proto: Protocol) -> None:
    """Pick an algorithm, grid or random, and the metric to rank by; search on a press, then
    show the last search of this dataset."""
    names = [n for n in sorted(algorithms()) if workflow.can_refit(n, data)]
    top = st.columns([2, 1.4, 2, 3], vertical_alignment="bottom")
    algorithm = state.bound(
        top[0].selectbox,
        "Algorithm",
        key=SEARCH_ALGO_KEY,
        param=SEARCH_ALGORITHM,
        default=names[default_algorithm(names, view_entry(data, view))],
        valid=names,
        options=names,
        format_func=words.algorithm_label,
    )
    mode = (
        state.bound(
            top[1].segmented_control,
            "Search",
            key=SEARCH_MODE_KEY,
            param=SEARCH_MODE,
            default="grid",
            valid=("grid", "random"),
            options=["grid", "random"],
            format_func=SEARCH_MODES.get,
            required=True,
        )
        or "grid"
    )
    metrics = list(evaluation.ACCURACY_METRICS)
    metric = state.bound(
        top[2].selectbox,
        "Rank by",
        key="eval_search_metric",
        param=SEARCH_METRIC,
        default=metrics[0],
        valid=metrics,
        options=metrics,
        format_func=metric_words,
    )
    top[3].caption(
        "Grid: give comma-separated values; every combination is tried. "
        "Random: values drawn from each parameter's search range (on a log scale "
        "where that suits it)."
    )
    texts, sampled, n_random, budget, submitted = _search_form(algorithm, mode)
    text.caption(
        f"Every candidate is trained on the train part of {proto.label} and ranked by "
        "the metric. Rows are saved as they finish: pressing Search again with the "
        "same form resumes where a time budget (or a closed tab) stopped it."
    )
    if submitted:
        try:
            request = search_request(
                algorithm, mode, texts, sampled, n_random, metric, budget, proto
            )
            tuning.candidates(
                algorithm,
                grid=request.get("grid"),
                n_random=request.get("n_random"),
                space=request.get("space"),
                fixed=request.get("fixed"),
            )
        except UserError as error:
            text.error(str(error))
            return
        _search(data, spec, request)
    last = st.session_state.get(SEARCH_LAST)
    if not last or last.get("fingerprint") != data.fingerprint:
        st.info("Fill in the form and press *Search*.", icon=":material/tune:")
        return
    show_search(data, spec, last)


# ------------------------------------------------------------------------------ the results
def search_table(payload: dict) -> pd.DataFrame:
    """The search's rows, best first: searched parameters, the metrics, time, status."""
    result = payload["result"]
    frame = pd.DataFrame(result["rows"])
    if frame.empty:
        return frame
    metric = result["metric"]
    shown = [
        *result["searched"],
        *[m for m in evaluation.ACCURACY_METRICS if m in frame],
        "fit_seconds",
        "best_epoch",
        "status",
    ]
    frame = frame[[c for c in shown if c in frame]].dropna(axis=1, how="all")
    if metric not in frame:
        return frame
    return frame.sort_values(metric, ascending=False, na_position="last").reset_index(drop=True)


def search_columns(algorithm: str, columns: Sequence[str]) -> dict[str, Any]:
    """The search table's column labels in words: parameters, metrics, time, status."""
    schema = {p.name: p for p in get_algorithm(algorithm).params}
    out: dict[str, Any] = {}
    for key in columns:
        if key in schema:
            out[key] = st.column_config.Column(schema[key].label, help=schema[key].help)
        elif key in evaluation.METRIC_INFO:
            out[key] = st.column_config.NumberColumn(
                metric_words(key), format="%.4f", help=metric_help(key)
            )
        elif key == "fit_seconds":
            out[key] = st.column_config.NumberColumn(
                metric_words(key), format="%.2f", help=words.metric_label(key)[1]
            )
        elif key == "best_epoch":
            out[key] = st.column_config.NumberColumn(
                "Best training pass", help="The pass after which the metric was highest."
            )
        elif key == "status":
            out[key] = st.column_config.TextColumn(
                "Status", help="ok, or why the candidate did not finish."
            )
        else:
            out[key] = st.column_config.Column(metric_words(key))
    return out


def show_search(data: Dataset, spec: str, payload: dict) -> None:
    """The last search: what it covered, its table, its parallel coordinates, its best
    candidate and the button that stores it."""
    result, request = payload["result"], payload["request"]
    metric = result["metric"]
    table = search_table(payload)
    state_text = (
        "complete"
        if result["complete"]
        else "stopped by the time budget: press Search again to resume"
    )
    st.subheader(
        f"{words.algorithm_label(request['algorithm'])}: {result['n_done']} of "
        f"{result['n_candidates']} candidates",
        anchor=False,
    )
    where = words.split_label(request["split"], k=request["k"], seed=request["seed"])
    text.caption(
        f"Search {state_text}; {result['n_resumed']} row(s) came from an earlier run. "
        f"Ranked by {metric_words(metric)} on {where}. Click a column header to sort."
    )
    if table.empty:
        st.info("No candidate has finished yet.")
        return
    st.dataframe(
        table,
        width="stretch",
        hide_index=True,
        key="eval_search_table",
        column_config=search_columns(request["algorithm"], table.columns),
    )
    ok = table[table["status"] == "ok"] if "status" in table else table
    if result["searched"] and len(ok) > 1:
        st.plotly_chart(
            parcoords_figure(ok, result["searched"], metric, request["algorithm"]),
            width="stretch",
            key="eval_search_parcoords",
            config={"displaylogo": False, "displayModeBar": False},
        )
    best = result.get("best")
    if best:
        _save_button(data, spec, request, result, best)


def _save_button(data: Dataset, spec: str, request: dict, result: dict, best: dict) -> None:
    """The best candidate in words and *Save the best model*: stores it, then shows it."""
    metric = result["metric"]
    shown = params_text(request["algorithm"], best.get("params"), limit=6)
    st.markdown(
        text.fmt(
            "**Best:** {} {:.4f} with {}",
            metric_words(metric),
            best.get(metric, float("nan")),
            shown,
        )
    )
    if not st.button(
        "Save the best model",
        key=SEARCH_SAVE_KEY,
        icon=":material/save:",
        help="Fits it on the split's train part, stores it with its metrics and selects it.",
    ):
        return
    bar = st.progress(0.0, text="Fitting the best candidate…")
    try:
        model_id = save_best(
            data,
            spec,
            request,
            best["params"],
            result["results_path"],
            progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=text.md_escape(m)),
        )
    except (UserError, NotImplementedError) as error:
        bar.empty()
        text.error(str(error))
        return
    bar.empty()
    loaders.clear_model_listing()
    text.toast(f"Stored the best model as {model_id}", icon=":material/check_circle:")
    state.set_view(
        models=[model_id],
        **{SPLIT: request["split"], SEED: request["seed"], EVAL_K: request["k"], SECTION: None},
    )
    st.rerun()
