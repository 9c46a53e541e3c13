"""Re-ranking: steer any model's lists with three dials and a few business rules.

A model scores; this module decides what a person sees. It takes a pool of the model's best
candidates (``pool_size(k)``: ``max(5 k, 50)`` items, fetched through the model's own
``recommend`` / ``similar_items`` / ``recommend_for_history`` or, in :func:`evaluation.evaluate`,
from each block of scores) and returns k of them:

- **filters** (exclude or keep only categories, tags and listed items; a minimum or maximum
  popularity) are applied before the pool is taken, so the list still holds exactly k items
  whenever k allowed items are left;
- **popularity** (0 = the model's order, 1 = the least popular candidates first): a penalty on
  log popularity mixed linearly with the pool's min-max normalised scores (why this one and not
  inverse-propensity weighting: ``docs/METRICS.md``);
- **diversity**: maximal marginal relevance (Carbonell & Goldstein 1998) over the cosine of the
  model's item vectors, or over "same category" for a model without vectors; never less diverse
  than the list without it;
- **calibration** (Steck 2018): the list's categories in proportion to those of the user's
  history, by greedy minimisation of KL(history || list).

Every dial at 0 with no filter returns the model's own answer, untouched. Lists are the same
whichever way they are asked for (one user's query or a block in an evaluation): both paths
compute every gain with the same floating-point operations (what each costs:
``docs/METRICS.md``, "What a re-ranking costs"). Settings are a frozen
:class:`RerankSettings` that reads and writes one canonical string
(``"popularity=0.5,diversity=0.3"``): the URL's, the CLI's ``--rerank`` and the store's key.
:class:`Reranker` holds what one (settings, model, dataset) needs, computed once; its
``recommend`` / ``similar_items`` / ``recommend_for_history`` answer like the model's, and
``select`` re-ranks a block of full score rows (what ``evaluate(..., rerank=...)`` calls).

The package, along what it holds (layer 3: it imports neither evaluation nor store):

- ``settings``: :class:`RerankSettings`, its string, the store key of a re-ranked evaluation;
- ``reranker``: :class:`Reranker` (one list) and the one-call :func:`recommend` /
  :func:`similar_items`;
- ``blocks``: the Reranker's block path (``select``, the candidate pools), :func:`pool_size`;
- ``greedy``: the greedies (block and one-row) and the spread of a list;
- ``calibration``: Steck's calibration term; ``categories``: a dataset's category codes.
- ``native_kernel``: one user's re-ranking in one C call (``native/``, built by ``pip install
  -r requirements.txt``), the same lists as the numpy path; numpy answers without it.

The steering sweep (one model evaluated at each value of a dial) is :mod:`recsys_core.sweep`.
Never imports streamlit.
"""

from . import native_kernel
from .blocks import pool_size
from .reranker import Reranker, check_before_training, recommend, similar_items
from .settings import (
    DIAL_HELP,
    DIALS,
    KEY_SEPARATOR,
    KEYS,
    RerankSettings,
    choices,
    parse_rerank,
    protocol_key_with,
    split_protocol_key,
)

__all__ = [
    "DIALS",
    "DIAL_HELP",
    "KEYS",
    "KEY_SEPARATOR",
    "RerankSettings",
    "Reranker",
    "check_before_training",
    "native_kernel",
    "choices",
    "parse_rerank",
    "pool_size",
    "protocol_key_with",
    "recommend",
    "similar_items",
    "split_protocol_key",
]
