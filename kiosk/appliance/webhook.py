"""An HTTP POST with a deadline for the whole exchange, not for each read.

requests' ``timeout`` bounds every socket read, so a receiver that answers one byte a second holds
a request for ever (issue 13 item 8: a dripping webhook held the alert thread 20 s with
``timeout_s = 2``).  Here the request runs on its own thread; at the deadline the sockets it
opened are shut down, which wakes the blocked read at once, and the caller gets TimeoutError.
"""

from __future__ import annotations

import socket
import threading
from typing import Any


def post_with_deadline(url: str, payload: dict, timeout_s: float) -> None:
    """POST ``payload`` as JSON to ``url``; raises unless a 2xx answer arrived within ``timeout_s``
    in total (the request's sockets are shut down at the deadline)."""
    import requests

    session = requests.Session()
    sockets: list[socket.socket] = []
    adapter = _RecordingAdapter(sockets)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            resp = session.post(url, json=payload, timeout=(timeout_s, timeout_s), stream=True)
            try:
                resp.raise_for_status()
                for _ in resp.iter_content(4096):   # read (and drop) the body within the deadline
                    pass
            finally:
                resp.close()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            result["error"] = exc

    worker = threading.Thread(target=work, name="kiosk-webhook", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        for sock in list(sockets):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        worker.join(1.0)
        session.close()
        raise TimeoutError(f"the webhook timed out: no complete answer within {timeout_s:g} s")
    session.close()
    if "error" in result:
        raise result["error"]


def _RecordingAdapter(sockets: list[socket.socket]):  # noqa: ANN202,N802 - a class factory
    """A requests adapter whose connections note their sockets in ``sockets`` (so a deadline can
    shut them down).  Built on first use: requests is not imported before the first frame."""
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    def recording(base: type) -> type:
        class Conn(base):  # type: ignore[misc,valid-type]
            def _new_conn(self):  # noqa: ANN202 - urllib3's hook that opens the socket
                sock = super()._new_conn()
                sockets.append(sock)
                return sock
        return Conn

    class Pool(HTTPConnectionPool):
        ConnectionCls = recording(HTTPConnection)

    class TlsPool(HTTPSConnectionPool):
        ConnectionCls = recording(HTTPSConnection)

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": TlsPool}

    return Adapter()
