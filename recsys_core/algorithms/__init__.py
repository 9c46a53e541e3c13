"""The algorithms: one :class:`Recommender` contract, one adapter per family, one registry.

- :mod:`.base`: the contract every adapter implements (queries, scoring, store arrays);
- :mod:`.capabilities`: what a family can do, asked one way: ``model.supports(name)``;
- :mod:`.params`: :class:`Param`, the schema the app's forms and the CLI's ``--param`` come from;
- :mod:`.registry`: registry key -> adapter class (:func:`get_algorithm`, :func:`loader`);
- :mod:`.stored`: checks for arrays read back from the model store;
- one module per family: ``implicit_mf`` (als, bpr, lmf), ``item_knn``, ``lightfm_model``,
  ``ease``, ``popularity``, ``content``, ``svd``, ``biased_mf``, ``vectors``, ``spark_als``.
"""

from __future__ import annotations

from .base import Recommender
from .capabilities import CAPABILITIES, LATENT_CAPABILITIES
from .params import Param, parse_param_args
from .registry import (
    algorithms,
    create,
    get_algorithm,
    loader,
    parse_params,
    register,
    register_load_only,
)

__all__ = [
    "CAPABILITIES",
    "LATENT_CAPABILITIES",
    "Param",
    "Recommender",
    "algorithms",
    "create",
    "get_algorithm",
    "loader",
    "parse_param_args",
    "parse_params",
    "register",
    "register_load_only",
]
