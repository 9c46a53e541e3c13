"""Thumbnail grids as a Streamlit component: a card click is a rerun in place, not a page load.

The grid's markup is built and escaped in Python (:func:`recsys_core.html.thumbnail_grid_html`,
which also holds the broken-image fallback); the component only shows it and listens for
clicks. A plain left click on a card's link (not with Ctrl, Cmd, Shift or Alt, not the middle
button, so "open in a new tab" still follows the link's ``href``) sends the link to Python
instead of loading it:

- a link to the same page becomes the URL's new query parameters (one browser-history entry,
  so back and forward walk the items visited);
- a link to another page (Users' cards open Similar items) is followed with ``st.switch_page``
  at the start of the next run (:func:`recsys_core.ui.navigation.follow`). To keep that to one
  history entry, the script first puts the link's query string on the current entry: links are
  built by :func:`recsys_core.ui.state.href` from the whole current view, so that entry still
  shows the same view, and Streamlit, finding its query string already in place, adds only
  the new page's entry.

The component is registered once, at import, and mounted without a shadow root
(``isolate_styles=False``) so the grid's ``<style>`` and the page's fonts apply as they did
with ``st.html``. Like ``st.html``'s sanitiser, the script drops any ``<script>``, event
handler attribute or ``javascript:`` URL before showing the markup (the markup is escaped
already; this is a second guard).
"""

from __future__ import annotations

import functools
from typing import Any

import streamlit as st

from . import navigation

NAME = "recsys_thumbnail_grid"

JS = r"""
const DROP = 'script, iframe, object, embed, base, meta, link, form, frame, frameset';
const URL_ATTRIBUTES = ['href', 'src', 'action', 'formaction', 'xlink:href', 'srcset'];

function clean(markup) {
  const template = document.createElement('template');
  template.innerHTML = markup;  // inert: nothing loads or runs until it is in the page
  template.content.querySelectorAll(DROP).forEach((node) => node.remove());
  template.content.querySelectorAll('*').forEach((node) => {
    for (const attribute of [...node.attributes]) {
      const name = attribute.name.toLowerCase();
      const scripted = /^\s*(javascript|vbscript):/i.test(attribute.value);
      if (name.startsWith('on') || (URL_ATTRIBUTES.includes(name) && scripted)) {
        node.removeAttribute(attribute.name);
      }
    }
  });
  return template.content;
}

function lastSegment(path) {
  return path.split('/').filter(Boolean).pop() || '';
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let host = parentElement.querySelector(':scope > div.rx-host');
  if (!host) {
    host = document.createElement('div');
    host.className = 'rx-host';
    parentElement.appendChild(host);
  }
  const markup = typeof data === 'string' ? data : '';
  if (host.rxMarkup !== markup) {
    host.rxMarkup = markup;
    host.replaceChildren(clean(markup));
  }
  host.onclick = (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    const link = event.target.closest('a[href]');
    if (!link || !host.contains(link)) return;
    if (link.target && link.target !== '_self') return;  // links out open in a new tab
    const url = new URL(link.getAttribute('href'), window.location.href);
    if (url.origin !== window.location.origin) return;
    event.preventDefault();
    const page = lastSegment(url.pathname);
    const here = page === lastSegment(window.location.pathname);
    if (!here) {
      window.history.replaceState(window.history.state, '', window.location.pathname + url.search);
    }
    setTriggerValue('clicked', { page, query: url.search.replace(/^\?/, ''), here });
  };
}
"""

_GRID = st.components.v2.component(NAME, js=JS, isolate_styles=False)


def show(markup: str, *, key: str) -> None:
    """Draw a grid's markup (from :func:`recsys_core.html.thumbnail_grid_html`) under ``key``.

    AppTest does not run components: tests read the markup from the element's ``json`` data
    (``tests/app/helpers.html_blocks``).
    """
    _GRID(key=key, data=str(markup), on_clicked_change=functools.partial(_on_clicked, key))


def click_target(value: Any) -> tuple[str, str, bool] | None:
    """``(page url path, query string, same page)`` of a click sent by the grid, or None when
    the value is not one (a stale or hand-made event)."""
    if not isinstance(value, dict):
        return None
    page, query, here = value.get("page"), value.get("query"), value.get("here")
    if not isinstance(page, str) or not isinstance(query, str) or not isinstance(here, bool):
        return None
    if page not in navigation.BY_PATH or len(query) > 8192:
        return None
    return page, query, here


def _on_clicked(key: str) -> None:
    target = click_target((st.session_state.get(key) or {}).get("clicked"))
    if target is None:
        return
    page, query, here = target
    if here:
        from urllib.parse import parse_qsl

        st.query_params.from_dict(parse_qsl(query, keep_blank_values=True))
    else:
        navigation.go(page, query)
