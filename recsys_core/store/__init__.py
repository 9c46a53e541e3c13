"""The model store: trained models on disk, one folder per model, never pickled.

Layout under ``root`` (default ``$RECSYS_HOME/models``)::

    <model_id>/arrays.npz     np.savez of model.to_arrays(); read with allow_pickle=False
    <model_id>/meta.json      algorithm, params, dataset, versions, fit time, metrics (below)
    .locks/<model_id>.lock    fcntl.flock target guarding writes of that model
    .tmp-*                    folders being written (renamed into place when complete)

The model id is derived from the dataset fingerprint, the algorithm and its parameters
(:func:`model_id_for`), so training the same thing twice finds the first one.

Writes are atomic: the folder is written under a temporary name inside the store, fsynced, then
renamed into place, all under an exclusive lock on the model id; if a good copy appeared
meanwhile it is kept and the new one dropped. Replacing a model (``train --force``) swaps the
two folders in one step where the filesystem offers it (Linux ``renameat2(RENAME_EXCHANGE)``);
elsewhere the old folder is parked as ``.tmp-old-<model_id>-*`` until the new one is in place,
and a parked copy whose model is missing (the writer was killed between its two renames) is put
back by the next one to take the lock, list the store or ask for the model. So a kill at any
moment leaves the old model or the new one. ``meta.json`` updates are a temporary file plus
``os.replace`` under the same lock.

Everything read back is treated as untrusted. ``meta.json`` is read with a size cap
(:data:`~.meta.META_MAX_BYTES`), any JSON shape or depth, and the fields the store, the CLI and the
app use are checked for type (a bad field is left out of the entry's ``meta``). ``arrays.npz`` is
read member by member (plain numeric ``.npy`` only: no objects, no compression, sizes that match
the file) and each adapter's ``from_arrays`` checks dtypes, shapes, finiteness and sparse indices
(:mod:`recsys_core.algorithms.stored`) before scipy or implicit see them; the rebuilt model must
agree with its meta and with the dataset. A damaged or foreign entry is listed with one sentence
saying why and never breaks a listing; loading it raises :class:`~recsys_core.errors.StoreError`
("Model X is damaged: ...; train it again."). A listing checks the meta and the arrays' headers,
and rebuilds models of up to :data:`~.listing.LISTING_CHECK_BYTES` (once per process until their
files change); damage in the data of a larger model (an index out of range, a NaN) is found when it
is loaded, and from then on this process's listings report it too.

``meta.json`` keys: see :mod:`.meta`.

Modules: :mod:`.models` (:class:`ModelStore`), :mod:`.listing` (:class:`ModelEntry`, what a
listing shows), :mod:`.meta` (meta.json: fields, checks, reading, writing), :mod:`.arrays`
(arrays.npz), :mod:`.rebuild` (a model rebuilt from its folder and checked), :mod:`.folders`
(ids, temporary and parked folders, atomic placement), :mod:`.locks` (the write lock),
:mod:`.damage` (damage found, remembered for listings), :mod:`.metrics_format` (the stored
metrics' names, protocol keys and upgrades).
"""

from __future__ import annotations

from ..datasets import sources_of
from .arrays import ARRAYS
from .folders import model_id_for
from .listing import LISTING_CHECK_BYTES, ModelEntry
from .meta import (
    MAX_REUSED_SOURCES,
    META,
    META_MAX_BYTES,
    SCHEMA_VERSION,
    default_source,
    library_versions,
)
from .models import ModelStore

__all__ = [
    "ARRAYS",
    "LISTING_CHECK_BYTES",
    "MAX_REUSED_SOURCES",
    "META",
    "META_MAX_BYTES",
    "SCHEMA_VERSION",
    "ModelEntry",
    "ModelStore",
    "default_source",
    "library_versions",
    "model_id_for",
    "sources_of",
]
