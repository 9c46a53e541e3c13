"""A search box that suggests while typing: a Streamlit component (``st.components.v2``).

Streamlit's own widgets cannot do this: ``st.selectbox`` filters its options in the browser by
an in-order subsequence of the label (its "fuzzy" mode), so "typewriter chrome" never finds
"Chrome Typewriter", and ``st.text_input(live=...)`` cannot tell a typing pause from Enter.
Here the browser sends what is typed (after a short pause) as the component's ``query`` state;
Python answers with suggestions from the core's search (``Dataset.search_items``: every word,
in any order, as the start of a word); the box shows them in a list under it.

- Enter picks the highlighted suggestion (the best one unless the arrows moved it); when the
  suggestions are not in yet for what is typed, it sends the text and Python picks its best
  match, so a fast typist gets what they typed.
- A click picks that suggestion. Each pick is one ``picked`` trigger: ``{"id", "query"}``.
- Up / Down move the highlight, Escape closes the list; the text stays after a pick, and
  focusing the box again shows the same suggestions.

Every string from Python (names, notes, labels) is set as ``textContent``; nothing from the
data is ever parsed as HTML. Colours must be ``#rrggbb``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

NAME = "recsys_search_box"
QUERY_LIMIT = 300

CSS = r"""
.rxs{position:relative;font-family:inherit}
.rxs-label{display:flex;align-items:center;min-height:1.5rem;margin-bottom:.25rem;
 font-size:.875rem;line-height:1.6}
.rxs-box{position:relative;display:flex;align-items:center;height:2.5rem;box-sizing:border-box;
 border:1px solid rgba(127,127,127,.32);border-radius:.5rem;
 background:var(--st-secondary-background-color,rgba(127,127,127,.06))}
.rxs-box:focus-within{border-color:var(--st-primary-color,#ff4b4b)}
.rxs-icon{flex:none;width:1rem;height:1rem;margin-left:.75rem;opacity:.55}
.rxs-input{flex:1;min-width:0;height:100%;box-sizing:border-box;padding:0 .75rem 0 .5rem;
 border:0;outline:0;background:transparent;color:inherit;font:inherit;font-size:.875rem}
.rxs-input::placeholder{color:inherit;opacity:.55}
.rxs-input::-webkit-search-cancel-button{cursor:pointer}
.rxs-list{position:absolute;z-index:1000;top:calc(100% + 4px);left:0;right:0;margin:0;
 padding:4px 0;list-style:none;max-height:min(22rem,60vh);overflow-y:auto;border-radius:.5rem;
 background:var(--st-background-color,#fff);color:var(--st-text-color,inherit);
 border:1px solid rgba(127,127,127,.28);box-shadow:0 8px 24px rgba(0,0,0,.16)}
.rxs-list[hidden]{display:none}
.rxs-list.rxs-stale .rxs-opt{opacity:.55}
.rxs-note{padding:4px 12px 6px;font-size:.75rem;opacity:.7}
.rxs-opt{display:flex;align-items:center;gap:8px;padding:6px 12px;cursor:pointer;
 font-size:.875rem;line-height:1.3}
.rxs-opt[aria-selected=true]{background:rgba(127,127,127,.14)}
.rxs-dot{flex:none;width:9px;height:9px;border-radius:50%;background:#64748b}
.rxs-name{flex:1;min-width:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.rxs-name b{font-weight:700}
.rxs-meta{flex:none;max-width:45%;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;
 font-size:.75rem;opacity:.65}
.rxs-mark{flex:none;padding:0 6px;border-radius:999px;font-size:.68rem;font-weight:600;
 background:rgba(127,127,127,.18)}
"""

JS = r"""
const PAUSE_MS = 160;
const COLOUR = /^#[0-9a-fA-F]{6}$/;
const ICON = '<svg class="rxs-icon" viewBox="0 0 24 24" aria-hidden="true">'
  + '<path fill="currentColor" d="M15.5 14h-.79l-.28-.27A6.47 6.47 0 0 0 16 9.5 6.5 6.5 0 1 0'
  + ' 9.5 16c1.61 0 3.09-.59 4.23-1.57l.27.28v.79l5 4.99L20.49 19l-4.99-5zm-6 0C7.01 14 5 11.99'
  + ' 5 9.5S7.01 5 9.5 5 14 7.01 14 9.5 11.99 14 9.5 14z"/></svg>';
let counter = 0;

function fold(text) {
  return String(text).normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}

// The name as text nodes, the words that start with a query word in bold.
function highlight(target, name, query) {
  target.replaceChildren();
  const words = fold(query).split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  for (const part of String(name).match(/[\p{L}\p{N}]+|[^\p{L}\p{N}]+/gu) || []) {
    const word = /[\p{L}\p{N}]/u.test(part) && words.some((w) => fold(part).startsWith(w));
    if (word) {
      const bold = document.createElement('b');
      bold.textContent = part;
      target.appendChild(bold);
    } else {
      target.appendChild(document.createTextNode(part));
    }
  }
}

function typed(s) {
  return s.input.value.trim().slice(0, __LIMIT__);
}

function send(s) {
  clearTimeout(s.timer);
  s.timer = null;
  const query = typed(s);
  if (query !== s.sent) {
    s.sent = query;
    s.api.setStateValue('query', query);
  }
}

function fresh(s) {
  return !s.timer && (s.data.query || '') === typed(s);
}

function pick(s, id) {
  const query = typed(s);
  send(s);
  s.open = false;
  render(s);
  s.api.setTriggerValue('picked', { id: id == null ? null : String(id), query });
}

function render(s) {
  const options = Array.isArray(s.data.options) ? s.data.options : [];
  const query = s.data.query || '';
  if (s.shownFor !== query) {
    s.shownFor = query;
    s.active = 0;
  }
  s.active = Math.max(0, Math.min(s.active, options.length - 1));
  s.list.replaceChildren();
  const waiting = !fresh(s) && Boolean(typed(s));  // the answer for what is typed is on its way
  if (s.data.note || waiting) {
    const note = document.createElement('li');
    note.className = 'rxs-note';
    note.setAttribute('role', 'presentation');
    note.textContent = waiting ? 'Searching\u2026' : String(s.data.note);
    s.list.appendChild(note);
  }
  options.forEach((option, index) => {
    const row = document.createElement('li');
    row.className = 'rxs-opt';
    row.id = `${s.id}-o${index}`;
    row.setAttribute('role', 'option');
    row.setAttribute('aria-selected', String(index === s.active));
    const dot = document.createElement('span');
    dot.className = 'rxs-dot';
    if (COLOUR.test(option.colour || '')) dot.style.background = option.colour;
    const name = document.createElement('span');
    name.className = 'rxs-name';
    highlight(name, option.name || '', query);
    name.title = String(option.name || '');
    row.append(dot, name);
    if (option.mark) {
      const mark = document.createElement('span');
      mark.className = 'rxs-mark';
      mark.textContent = String(option.mark);
      row.appendChild(mark);
    }
    if (option.meta) {
      const meta = document.createElement('span');
      meta.className = 'rxs-meta';
      meta.textContent = String(option.meta);
      row.appendChild(meta);
    }
    row.addEventListener('mousedown', (event) => {
      if (event.button !== 0) return;
      event.preventDefault();  // keep the focus in the box
      pick(s, option.id);
    });
    row.addEventListener('mousemove', () => {
      if (s.active !== index) {
        s.active = index;
        render(s);
      }
    });
    s.list.appendChild(row);
  });
  s.list.classList.toggle('rxs-stale', !fresh(s));
  const shown = s.open && (options.length > 0 || Boolean(s.data.note) || waiting);
  s.list.hidden = !shown;
  s.input.setAttribute('aria-expanded', String(shown));
  if (shown && options.length) {
    s.input.setAttribute('aria-activedescendant', `${s.id}-o${s.active}`);
    const row = s.list.querySelector(`#${s.id}-o${s.active}`);
    if (row && row.scrollIntoView) row.scrollIntoView({ block: 'nearest' });
  } else {
    s.input.removeAttribute('aria-activedescendant');
  }
}

function build(parent) {
  const id = `rxs${++counter}`;
  const root = document.createElement('div');
  root.className = 'rxs';
  const label = document.createElement('label');
  label.className = 'rxs-label';
  label.htmlFor = `${id}-input`;
  const box = document.createElement('div');
  box.className = 'rxs-box';
  box.innerHTML = ICON;  // a constant
  const input = document.createElement('input');
  input.className = 'rxs-input';
  input.id = `${id}-input`;
  input.type = 'search';
  input.autocomplete = 'off';
  input.spellcheck = false;
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', `${id}-list`);
  input.setAttribute('aria-expanded', 'false');
  const list = document.createElement('ul');
  list.className = 'rxs-list';
  list.id = `${id}-list`;
  list.setAttribute('role', 'listbox');
  list.hidden = true;
  box.append(input, list);
  root.append(label, box);
  parent.appendChild(root);

  const s = { id, root, label, input, list, timer: null, sent: null, open: false, active: 0,
              data: {}, api: null, shownFor: null, started: false };
  root.rxs = s;
  input.addEventListener('input', () => {
    s.open = true;
    clearTimeout(s.timer);
    s.timer = setTimeout(() => send(s), PAUSE_MS);
    render(s);
  });
  for (const opening of ['focus', 'click']) {
    input.addEventListener(opening, () => {
      if (!s.open) {
        s.open = true;
        render(s);
      }
    });
  }
  input.addEventListener('blur', () => {
    s.open = false;
    render(s);
  });
  input.addEventListener('keydown', (event) => {
    const options = Array.isArray(s.data.options) ? s.data.options : [];
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      if (!s.open) {
        s.open = true;
      } else if (options.length) {
        const step = event.key === 'ArrowDown' ? 1 : -1;
        s.active = (s.active + step + options.length) % options.length;
      }
      render(s);
    } else if (event.key === 'Enter') {
      event.preventDefault();
      if (!typed(s)) return;
      const option = fresh(s) ? options[s.active] : null;
      pick(s, option ? option.id : null);
    } else if (event.key === 'Escape') {
      if (s.open) {
        event.preventDefault();
        s.open = false;
        render(s);
      }
    } else if (event.key === 'Tab') {
      s.open = false;
      render(s);
    }
  });
  return s;
}

export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  let root = parentElement.querySelector(':scope > div.rxs');
  const s = root ? root.rxs : build(parentElement);
  s.api = { setStateValue, setTriggerValue };
  s.data = data && typeof data === 'object' ? data : {};
  s.label.textContent = String(s.data.label || '');
  s.input.placeholder = String(s.data.placeholder || '');
  s.input.setAttribute('aria-label', String(s.data.label || s.data.placeholder || 'Search'));
  if (!s.started) {
    s.started = true;
    s.input.value = String(s.data.value || '');
    s.sent = typed(s);
  }
  render(s);
}
""".replace("__LIMIT__", str(QUERY_LIMIT))

_BOX = st.components.v2.component(NAME, js=JS, css=CSS, isolate_styles=False)


def query(key: str) -> str:
    """What the box under ``key`` last sent as typed (trimmed; "" before any typing)."""
    value = st.session_state.get(key)
    text = value.get("query") if hasattr(value, "get") else None
    return text[:QUERY_LIMIT] if isinstance(text, str) else ""


def picked_event(value: Any) -> tuple[str | None, str] | None:
    """``(suggestion id or None, query)`` of a ``picked`` trigger, or None when the value is
    not one (a stale or hand-made event)."""
    if not isinstance(value, dict):
        return None
    chosen, text = value.get("id"), value.get("query")
    if not isinstance(text, str) or (chosen is not None and not isinstance(chosen, str)):
        return None
    return chosen, text.strip()[:QUERY_LIMIT]


def show(
    *,
    key: str,
    label: str,
    placeholder: str,
    answered: str,
    options: Sequence[dict[str, str]],
    note: str,
    on_pick: Callable[[str | None, str], None],
) -> None:
    """Draw the box under ``key``.

    Parameters
    ----------
    key : str
        The component's key (its state: ``st.session_state[key]["query"]``).
    label, placeholder : str
        Plain text (shown as text, never Markdown or HTML).
    answered : str
        The query ``options`` answer (the box greys out suggestions for older text).
    options : sequence of dict, length n_suggestions
        ``{"id", "name", "meta", "colour", "mark"}`` strings: ``id`` comes back in a pick,
        ``meta`` is a short grey line (category, likes), ``mark`` a small badge ("selected").
    note : str
        A line over the suggestions ("12 matches", "No item has every word...").
    on_pick : callable
        ``on_pick(id or None, query)``, called back once per pick (Enter or a click).
    """

    def picked() -> None:
        event = picked_event((st.session_state.get(key) or {}).get("picked"))
        if event is not None:
            on_pick(*event)

    _BOX(
        key=key,
        data={
            "label": label,
            "placeholder": placeholder,
            "query": answered,
            "value": query(key),
            "options": list(options),
            "note": note,
        },
        default={"query": ""},
        on_query_change=_typed,
        on_picked_change=picked,
    )


def _typed() -> None:
    """The query is read where the box is drawn; nothing else to do when it changes."""
