"""The HTTP safety of the image API's requests: sockets that can be cut, origins compared.

Every request of a batch goes through a session from :func:`new_session`, whose connections
(direct or through a proxy) register their sockets with a :class:`Sockets`; cutting it shuts
them all down, so a server that trickles bytes holds no thread past the batch's hard stop.
:func:`origin` reads a URL the way the connection will (so a redirect is followed only within
the API's own origin). ``requests`` is imported by the functions that use it, not with the module:
most pages never ask the API.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from .. import __version__

__all__ = ["Sockets", "new_session", "origin"]


class Sockets:
    """The sockets opened for one batch; :meth:`cut` shuts every one down, so a read blocked on
    any of them returns at once (and any socket opened afterwards is shut down as it opens)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open: list[socket.socket] = []
        self.done = False

    def add(self, sock: Any) -> None:
        if not isinstance(sock, socket.socket):
            return
        with self.lock:
            if not self.done:
                self.open.append(sock)
                return
        _shut(sock)

    def cut(self) -> None:
        with self.lock:
            self.done = True
            sockets, self.open = self.open, []
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed (its descriptor is -1: nothing else is touched)
        pass


def _watch_pools(manager: Any, sockets: Sockets) -> None:
    """Make the urllib3 pool ``manager`` register every socket it opens with ``sockets``."""
    watched = {}
    for scheme, pool_cls in manager.pool_classes_by_scheme.items():
        base = pool_cls.ConnectionCls

        def _new_conn(self: Any, _base: Any = base) -> Any:
            sock = _base._new_conn(self)  # the TCP socket (before TLS wraps it)
            sockets.add(sock)
            return sock

        def connect(self: Any, _base: Any = base) -> None:
            _base.connect(self)
            sockets.add(self.sock)  # the socket requests are read from (the TLS one for https)

        connection_cls = type(
            f"Watched{base.__name__}", (base,), {"_new_conn": _new_conn, "connect": connect}
        )
        watched[scheme] = type(
            f"Watched{pool_cls.__name__}", (pool_cls,), {"ConnectionCls": connection_cls}
        )
    manager.pool_classes_by_scheme = watched


def new_session(pool_size: int, sockets: Sockets | None = None) -> Any:
    """A requests session whose connections (direct or through a proxy) register their sockets
    with ``sockets``, so the batch can cut them at its hard stop."""
    import requests
    from requests.adapters import HTTPAdapter

    class _Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            if sockets is not None:
                _watch_pools(self.poolmanager, sockets)

        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
            known = proxy in self.proxy_manager
            manager = super().proxy_manager_for(proxy, **kwargs)
            if sockets is not None and not known:
                _watch_pools(manager, sockets)
            return manager

    session = requests.Session()
    adapter = _Adapter(pool_connections=2, pool_maxsize=max(1, pool_size), max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = f"recsys-explorer/{__version__}"
    session.headers["Accept"] = "application/json"
    return session


def origin(url: str) -> tuple[tuple[str, str, int | None], str]:
    """``((scheme, host, port), url)`` as requests will connect for ``url``: the URL prepared by
    requests and read by urllib3's parser, the one that opens the connection (``urlsplit``
    reads ``http://a:1\\@b:2/`` as host b, urllib3 as host a). Raises for a URL requests
    refuses."""
    import requests
    from urllib3.util import parse_url

    prepared = str(requests.Request("GET", url).prepare().url)
    parsed = parse_url(prepared)
    scheme = (parsed.scheme or "").lower()
    port = parsed.port or {"http": 80, "https": 443}.get(scheme)
    return (scheme, (parsed.host or "").lower().rstrip("."), port), prepared
