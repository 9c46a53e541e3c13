"""Item images for the app: metadata URLs, Sketchfab's model API, and generated placeholders.

:func:`resolve_images` returns one ``<img src>``-ready string per item asked for:

1. the dataset's ``image_url`` when it is ``http(s)://`` or a ``data:image/`` URI (the browser
   fetches it; :func:`recsys_core.html.thumbnail_card` shows the placeholder when it fails);
2. for Sketchfab items (dataset ``sketchfab``, or a ``url`` like
   ``https://sketchfab.com/models/<mid>``), the 200-pixel-wide image of
   ``https://api.sketchfab.com/v3/models/<mid>`` -> ``thumbnails.images``, fetched only for the
   items asked for, concurrently, under one deadline for the whole batch, and cached on disk
   (hits for :data:`HIT_TTL`, definite misses for :data:`MISS_TTL`, everything else that went
   wrong for :data:`TRANSIENT_TTL`, a few minutes);
3. otherwise, or when anything fails (404, 429, timeout, bad JSON, offline), a generated
   placeholder: an SVG data URI picturing the item's object in its material, on its category's
   colour (:mod:`recsys_core.pictures`).

The trust boundary with the image API:

- A call never waits more than ``timeout`` and never raises for network trouble. Requests still
  running then finish in the background, only to fill the cache, and every one of them is cut
  (its socket shut down) ``2 * timeout`` after the call began: a server that trickles bytes, in
  its headers or its body, holds no thread longer than that (the per-read timeout alone would
  let it hold one for as long as it keeps sending).
- No redirect to another origin (scheme, host, port) is followed; at most :data:`MAX_REDIRECTS`
  redirects within the API's own origin are (e.g. an added trailing slash). A redirect elsewhere
  is a transient failure: the placeholder, asked again after :data:`TRANSIENT_TTL`.
- Bodies over :data:`MAX_RESPONSE_BYTES` are refused; only http(s) image URLs are kept.

The cache is one JSON file, ``RECSYS_HOME/cache/thumbnails/sketchfab.json``, written atomically
(:func:`recsys_core.util.files.atomic_write_json`). A damaged file is ignored and rewritten on the
next store; two processes writing at once may drop each other's newest entries, which are then
fetched again.

Modules: :mod:`.references` (model ids in links and pasted text), :mod:`.cache` (the disk cache
and its clock, :func:`.cache.now`), :mod:`.connections` (sockets that can be cut, origins),
:mod:`.fetch` (the API's requests, :data:`.fetch.API_BASE`), :mod:`.resolve` (the entry point).
"""

from __future__ import annotations

from .cache import HIT_TTL, MISS_TTL, TRANSIENT_TTL, cache_path
from .fetch import API_BASE, MAX_REDIRECTS, pick_thumbnail
from .references import parse_item_reference, sketchfab_model_id
from .resolve import (
    ImageBatch,
    placeholder_data_uri,
    placeholder_svg,
    resolve_image_batch,
    resolve_images,
)

__all__ = [
    "API_BASE",
    "HIT_TTL",
    "MAX_REDIRECTS",
    "MISS_TTL",
    "TRANSIENT_TTL",
    "ImageBatch",
    "cache_path",
    "parse_item_reference",
    "pick_thumbnail",
    "placeholder_data_uri",
    "placeholder_svg",
    "resolve_image_batch",
    "resolve_images",
    "sketchfab_model_id",
]
