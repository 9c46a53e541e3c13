"""The sidebar's training jobs: a model training in a process of its own
(:mod:`recsys_core.training_jobs`) with its progress bar, elapsed time, epoch count and a Cancel
button, drawn in a fragment that polls (``st.fragment(run_every=...)``), so only it reruns while
the rest of the page, and every other browser session, keeps browsing.

The sidebar's training form trains a small dataset in the script run as before (a few seconds;
:func:`in_background` decides by the dataset's size) and hands a large one to :func:`start`.
:func:`render` runs in every full run of the sidebar: it draws the jobs of the dataset on screen
(any session's, so a page closed and opened again finds its job) and, only while one is active,
the polling fragment. When a job this session started is done, its model is selected in the URL
and the page reruns once; a cancelled or failed one leaves one sentence in the sidebar.
"""

from __future__ import annotations

import streamlit as st

from .. import training_jobs, words
from ..dataset import Dataset
from ..errors import UserError
from ..training_jobs import JobStatus
from . import loaders, state, text

POLL_SECONDS = 1.0
"""How often the fragment reads the jobs' status while one is active (nothing polls otherwise)."""
OWN = "training_jobs_own"
"""session_state key: {job key: dataset fingerprint} of the jobs this session started."""
SEEN = "training_jobs_seen"
"""session_state key: keys of other sessions' jobs this session showed while they ran."""
NOTICE = "training_jobs_notice"
"""session_state key: (kind, sentence) of this session's last job that did not end in a model."""


def in_background(data: Dataset) -> bool:
    """Whether the form should train on ``data`` in a job (a large dataset) rather than in the
    script run (see :data:`recsys_core.training_jobs.BACKGROUND_MIN_INTERACTIONS`)."""
    return training_jobs.runs_in_background(data)


def _own() -> dict[str, str]:
    return st.session_state.setdefault(OWN, {})


def _seen() -> set[str]:
    return st.session_state.setdefault(SEEN, set())


def start(
    data: Dataset, spec: str, algorithm: str, values: dict, source: dict | None = None
) -> None:
    """Start (or find again, for the same dataset, algorithm and parameters) a job training
    ``algorithm`` on ``data``, and rerun so the sidebar shows its progress. A model already in
    the store is selected at once."""
    st.session_state.pop(NOTICE, None)
    try:
        job = training_jobs.start(
            data,
            algorithm,
            values,
            spec=spec,
            options=loaders._file_options(spec),  # what the app loaded the dataset with
            source=source,
        )
    except UserError as error:
        text.error(str(error))
        return
    _own()[job.key] = data.fingerprint
    if job.state == "done" and job.model_id:
        _select(job)
    st.rerun()


def render(data: Dataset, spec: str) -> None:
    """The jobs of ``data`` in the sidebar (call it in the sidebar's full run): the notice of
    this session's last job, then the polling fragment while a job is active."""
    notice = st.session_state.pop(NOTICE, None)
    if notice is not None:
        kind, sentence = notice
        (text.info if kind == "cancelled" else text.error)(
            sentence, icon=":material/block:" if kind == "cancelled" else ":material/error:"
        )
    statuses = _statuses(data.fingerprint)
    if _settle(statuses, data.fingerprint):
        st.rerun()
    if any(job.active for job in statuses):
        _poll(data.fingerprint)


def _statuses(fingerprint: str) -> list[JobStatus]:
    """The active jobs of the dataset, and this session's own jobs of it (finished or not)."""
    found = {job.key: job for job in training_jobs.jobs(fingerprint) if job.active}
    for key, owner in list(_own().items()):
        if owner == fingerprint and key not in found:
            job = training_jobs.status(key)
            if job is None:
                _own().pop(key, None)
            else:
                found[key] = job
    return list(found.values())


def _settle(statuses: list[JobStatus], fingerprint: str) -> bool:
    """Act on finished jobs: select this session's new model, or keep its one sentence; a
    finished job of another session refreshes the model list. True if the page must rerun."""
    rerun = False
    for job in statuses:
        if job.active:
            if job.key not in _own():
                _seen().add(job.key)
            continue
        if job.key in _own():
            _own().pop(job.key, None)
            if job.state == "done" and job.model_id:
                _select(job)
            else:
                st.session_state[NOTICE] = (job.state, _ending(job))
            rerun = True
        elif job.key in _seen():
            _seen().discard(job.key)
            if job.state == "done":
                loaders.clear_model_listing()
                text.toast(
                    f"{words.algorithm_label(job.algorithm)} finished training in "
                    "another window; it is in the model list.",
                    icon=":material/check_circle:",
                )
            rerun = True
    return rerun


def _select(job: JobStatus) -> None:
    """Put a finished job's model first in the URL's ``model`` (as the form does)."""
    loaders.clear_model_listing()
    name = words.algorithm_label(job.algorithm)
    verb = "Reused" if job.reused else "Trained"
    text.toast(f"{verb} {name} model {job.model_id}", icon=":material/check_circle:")
    state.set_view(models=[job.model_id])


def _ending(job: JobStatus) -> str:
    """One sentence on a job that ended without a model."""
    name = words.algorithm_label(job.algorithm)
    if job.state == "cancelled":
        return f"Training {name} was cancelled after {duration(job.elapsed())}; nothing was saved."
    return job.error or f"Training {name} failed; nothing was saved."


@st.fragment(run_every=POLL_SECONDS)
def _poll(fingerprint: str) -> None:
    """The active jobs with their progress; reruns by itself every :data:`POLL_SECONDS`, and
    the whole page once a job it shows has finished."""
    statuses = _statuses(fingerprint)
    if any(not job.active for job in statuses) and _settle(statuses, fingerprint):
        st.rerun()  # the full run selects the model / shows the sentence, and stops polling
    for job in statuses:
        if job.active:
            _draw(job)


def _draw(job: JobStatus) -> None:
    name = words.algorithm_label(job.algorithm)
    params = words.params_label(job.algorithm, job.params, limit=2, changed_only=True)
    with st.container(border=True, key=f"training_job_{job.key}"):
        text.caption(
            f"Training {name}"
            + (f" · {params}" if params else "")
            + ("" if job.key in _own() else " · started in another window")
        )
        st.progress(overall_fraction(job), text=text.md_escape(progress_text(job)))
        st.button(
            "Cancelling…" if job.cancel_requested else "Cancel",
            key=f"cancel_job_{job.key}",
            icon=":material/stop_circle:",
            disabled=job.cancel_requested,
            help="Stops the training; nothing is saved.",
            on_click=training_jobs.request_cancel,
            args=(job.key,),
        )


LOAD_SHARE = 0.05
"""Share of the bar for loading the dataset (read from the parse cache: usually quick)."""


def overall_fraction(job: JobStatus) -> float:
    """One bar for the whole job: loading fills its first :data:`LOAD_SHARE`, training the rest."""
    if job.state == "done":
        return 1.0
    if job.phase == "loading":
        return LOAD_SHARE * job.fraction
    if job.phase in ("training", "saving"):
        return LOAD_SHARE + (1.0 - LOAD_SHARE) * job.fraction
    return 0.0


def progress_text(job: JobStatus, now: float | None = None) -> str:
    """'Epoch 3 of 15 · 1 min 04 s', 'Loading the dataset (45%) · 12 s', 'Starting… · 1 s'."""
    took = duration(job.elapsed(now))
    if job.cancel_requested:
        return f"Cancelling… · {took}"
    if job.state == "starting" or job.phase in ("", "starting"):
        return f"Starting… · {took}"
    if job.phase == "loading":
        return f"Loading the dataset ({job.fraction:.0%}) · {took}"
    if job.epoch is not None and job.epochs:
        return f"Epoch {job.epoch} of {job.epochs} ({job.fraction:.0%}) · {took}"
    return f"{job.message or 'Training'} ({job.fraction:.0%}) · {took}"


def duration(seconds: float) -> str:
    """'8 s', '1 min 04 s', '2 h 05 min'."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
