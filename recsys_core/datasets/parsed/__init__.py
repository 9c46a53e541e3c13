"""Parsed files, kept: a file dataset is parsed once, then read back as arrays.

:func:`recsys_core.datasets.tabular.load_file` (which the command line, the app and uploads all
go through) parses a csv / tsv / parquet file once and keeps the result under
``RECSYS_HOME/cache/parsed``::

    <key>/meta.json            what the arrays are, the parse's notes, the dataset's fingerprint
    <key>/<name>.npy           CSR parts (indptr, indices, data) of interactions, ratings and
                               timestamps (an index array the matrices share is kept once),
                               user_ids and item_ids (fixed-width text), item_counts
    <key>/items.parquet        the items file as read (before it is aligned to the item ids)
    .stamps/<path hash>.json   a file's content hash, valid while its stat is unchanged
    .locks/<key>.lock          held while that entry is parsed and written
    .tmp-*                     entries being written (renamed into place when complete)

**The key** is a hash of the file's content (and of its items file's), the options that change
what a parse gives (columns, delimiter, quoting, encoding, ``min_rating``, ``drop_duplicates``,
how the file's suffix is read, the limits a parquet file is checked against) and the reader's
version. So an edited file is parsed again, a renamed or copied file is not, and uploads (kept by
content) share entries with the same file given on the command line. The label a file is shown
by is not part of the key: names and notes are written with the current one.

**Content hash.** ``sha256`` of every byte (the CPU's SHA instructions make it about 1 GB/s a
core, twice ``blake2b`` here; 64 MB pieces are hashed on every core and their hashes hashed), so
an edit anywhere, even one that keeps the size and the time stamp, gives another key. Sampled
blocks would miss an edit between them. To avoid reading a large file
on every command, the hash is remembered with the file's stat (device, inode, size, modification
and change times, as ``make`` and git's index trust them); a stat that differs, or a file changed
less than two seconds before it was hashed (a second write could keep its time stamp), is hashed
again.

**Reading back** is ``np.load(..., allow_pickle=False)``, memory-mapped for arrays over 1 MB (the
page cache shares them between the app's processes), with every part checked against the meta
(dtype, shape) and the CSR structure checked (``indptr`` monotone from 0 to nnz, indices within
the columns, finite likes) before scipy sees it. The entry's fingerprint and item counts are
the ones computed from these arrays when they were written, so they are not computed again (the
counts must add up to the interactions). A damaged entry (truncated, garbage, foreign shapes, an
object array) is reported in one sentence in the log (stderr on the command line), removed and
parsed again; it never fails a load. If the cache cannot be written (a read-only or full disk)
the data is parsed and returned as before.

**Writing** is atomic: the arrays go to a temporary folder that is renamed into place, under a
lock on the key, so concurrent loads of the same content parse once (the others wait, then read
it) and readers never see half an entry. The entry (its fingerprint, then its arrays) is written
by a thread once the parse is over, so the load returns at once and the caller's next step (a
training, a page) runs meanwhile; the lock is released when the entry is whole, and a command's
process ends only then (the thread is not a daemon; :func:`wait` waits for it). Nothing is
fsynced: after a crash, a damaged entry is just parsed again.

``python -m recsys_core cache list`` shows the entries; ``cache clean`` removes them.

The package, by what each module holds: :mod:`.folder` (where, the names, removing an entry),
:mod:`.keys` (content hashes and entry keys), :mod:`.read` and :mod:`.write` (an entry's arrays),
:mod:`.cache` (:func:`load_or_parse`: read back, or parse under a lock and keep in a thread),
:mod:`.listing` (:func:`entries`, :func:`clean`).
"""

from __future__ import annotations

from .cache import load_or_parse, wait
from .folder import ENV, READER_VERSION, enabled, logger, root
from .keys import content_hash, entry_key, file_hash
from .listing import clean, entries

__all__ = [
    "ENV",
    "READER_VERSION",
    "clean",
    "content_hash",
    "enabled",
    "entries",
    "entry_key",
    "file_hash",
    "load_or_parse",
    "logger",
    "root",
    "wait",
]
