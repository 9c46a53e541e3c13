"""What an algorithm can do, by name, and the one way to ask: ``model.supports(name)``.

``supports`` answers for a family (asked on the class: what the app may offer before training)
and for a configured model (asked on an instance: ``"tags"`` only for a lightfm model trained
with item features). Every capability is a method (or a group of methods) declared on
:class:`~recsys_core.algorithms.base.Recommender`; a model that lacks it raises
``NotImplementedError`` with one sentence, so a caller that checked ``supports`` first never
sees it, and one that did not gets a clear message instead of an ``AttributeError``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

CAPABILITIES: tuple[str, ...] = (
    "recommend",
    "recommend_for_history",
    "similar_items",
    "item_vectors",
    "user_vectors",
    "explain",
    "tags",
    "epochs",
)
"""Every capability, in the order the app lists them.

- ``recommend``: top-k for a user the model was trained on (``recommend``, ``score_users``);
- ``recommend_for_history``: top-k for a new user from the items they liked (``score_history``);
- ``similar_items``: the items nearest an item in the model's own similarity;
- ``item_vectors`` / ``user_vectors``: a latent space (``item_vectors()`` / ``user_vectors()``);
- ``explain``: the history items that contributed most to a recommendation;
- ``tags``: tag embeddings in the items' space (``tag_names``, ``items_for_tag``,
  ``suggest_tags``...);
- ``epochs``: trained in epochs, ``on_epoch`` is called after each (learning curves, cancel).
"""

LATENT_CAPABILITIES = frozenset(
    {
        "recommend",
        "recommend_for_history",
        "similar_items",
        "item_vectors",
        "user_vectors",
        "explain",
    }
)
"""What every latent-factor family supports (add ``"epochs"`` for iterative ones)."""

ITEM_ITEM_CAPABILITIES = frozenset(
    {"recommend", "recommend_for_history", "similar_items", "explain"}
)
"""What an item-item family without a latent space supports (item-knn, EASE, content)."""


def check_capability(name: str) -> str:
    """``name`` if it is one of :data:`CAPABILITIES`; a ``ValueError`` naming them if not."""
    if name not in CAPABILITIES:
        raise ValueError(f"Unknown capability {name!r}; use one of {', '.join(CAPABILITIES)}.")
    return name


class family_or_model:
    """A method that receives the class when called on the class and the instance when called
    on an instance (``supports`` answers for the family and for a configured model)."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        functools.update_wrapper(self, func)

    def __get__(self, obj: Any, cls: type) -> Callable[..., Any]:
        return functools.partial(self.func, cls if obj is None else obj)
