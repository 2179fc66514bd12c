"""The ``/metrics`` + ``/health`` HTTP endpoint, bounded (issue 13 item 8, issue 18 item 6).

``http.server``'s ThreadingHTTPServer starts one thread per connection and keeps it as long as the
client keeps the socket open: 200 half-open connections meant 200 threads forever.  Here a fixed
number of connections is served at once, idle reads time out, and every connection has a total
deadline.  The endpoint has no authentication: bind it to 127.0.0.1 or a management network.
"""

from __future__ import annotations

import functools
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from kiosk.appliance.monitoring import Metrics, health, metrics

log = logging.getLogger(__name__)

# Bounds of the endpoint (issue 13 item 8): a scraper needs one connection for well under a second;
# idle or half-open connections must not pile up threads.
MAX_CONNECTIONS = 8
IDLE_TIMEOUT_S = 5.0      # no byte for this long: the connection is closed
REQUEST_DEADLINE_S = 15.0  # a connection is closed after this long whatever it does (dripping clients)


@functools.cache
def _http_classes() -> tuple[type, type, type]:
    """(handler, IPv4 server, IPv6 server), built on first use: http.server (and the e-mail package
    it pulls in) costs tens of milliseconds at import, which the kiosk should not pay before its
    first frame (the config cross-check imports this module)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

    class _Handler(BaseHTTPRequestHandler):
        server: Any

        def setup(self) -> None:
            self.timeout = self.server.idle_timeout_s  # StreamRequestHandler: socket timeout per read
            super().setup()
            self.server.track(self.connection)

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                self.server.untrack(self.connection)

        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                body, ctype, code = self.server.registry.exposition().encode(), CONTENT_TYPE_PLAIN_0_0_4, 200
            elif path == "/health":
                report = self.server.health_fn()
                code = 200 if report["status"] == "ok" else 503
                body, ctype = json.dumps(report, indent=1).encode(), "application/json"
            else:
                body, ctype, code = b"not found: try /metrics or /health\n", "text/plain", 404
            self.send_response(code)
            self.send_header("Content-Type", ctype + "; charset=utf-8" if "charset" not in ctype else ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server signature
            log.debug("monitoring %s: " + format, self.client_address[0], *args)

    class _Server(ThreadingHTTPServer):
        """A threading HTTP server with a bounded number of connection threads.

        A connection beyond ``max_connections`` is closed at once (counted in ``refused``); each
        connection's reads time out after ``idle_timeout_s``; ``service_actions`` (run by
        ``serve_forever`` between polls) shuts down connections older than ``deadline_s``, so a
        client dripping one byte at a time cannot hold a thread either.
        """

        daemon_threads = True
        block_on_close = False
        request_queue_size = 128  # the kernel's accept queue; refusing is quick, waiting is not
        registry: Metrics
        health_fn: Callable[[], dict]
        max_connections = MAX_CONNECTIONS
        idle_timeout_s = IDLE_TIMEOUT_S
        deadline_s = REQUEST_DEADLINE_S

        def server_activate(self) -> None:
            super().server_activate()
            self.slots = threading.BoundedSemaphore(self.max_connections)
            self.open: dict[socket.socket, float] = {}
            self.open_lock = threading.Lock()
            self.refused = 0

        def process_request(self, request: Any, client_address: Any) -> None:
            if not self.slots.acquire(blocking=False):
                self.refused += 1
                self.shutdown_request(request)
                return
            try:
                super().process_request(request, client_address)
            except BaseException:
                self.slots.release()
                raise

        def process_request_thread(self, request: Any, client_address: Any) -> None:
            try:
                super().process_request_thread(request, client_address)
            finally:
                self.slots.release()

        def track(self, conn: socket.socket) -> None:
            with self.open_lock:
                self.open[conn] = time.monotonic() + self.deadline_s

        def untrack(self, conn: socket.socket) -> None:
            with self.open_lock:
                self.open.pop(conn, None)

        def service_actions(self) -> None:
            now = time.monotonic()
            with self.open_lock:
                late = [c for c, deadline in self.open.items() if deadline < now]
            for conn in late:
                self.untrack(conn)
                try:
                    conn.shutdown(socket.SHUT_RDWR)  # the handler's read or write fails and it ends
                except OSError:
                    pass

    class _Server6(_Server):
        address_family = socket.AF_INET6

    return _Handler, _Server, _Server6


class MonitoringServer:
    """The ``/metrics`` + ``/health`` endpoint in a daemon thread.  ``port`` is the bound port.

    At most ``max_connections`` connections are served at once (one thread each); reads time out
    after ``idle_timeout_s`` and a connection lives at most ``deadline_s``.
    """

    def __init__(self, host: str, port: int, registry: Metrics = metrics,
                 health_fn: Callable[[], dict] | None = None, *, max_connections: int = MAX_CONNECTIONS,
                 idle_timeout_s: float = IDLE_TIMEOUT_S, deadline_s: float = REQUEST_DEADLINE_S) -> None:
        handler, server4, server6 = _http_classes()
        server_cls = server6 if ":" in host else server4
        bounded = type("BoundedServer", (server_cls,), {"max_connections": max_connections,
                                                        "idle_timeout_s": idle_timeout_s,
                                                        "deadline_s": deadline_s})
        self._httpd = bounded((host, port), handler)
        self._httpd.registry = registry
        self._httpd.health_fn = health_fn or (lambda: health(registry))
        self.host, self.port = host, self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="kiosk-monitoring", daemon=True)

    @property
    def refused(self) -> int:
        """Connections closed unanswered because ``max_connections`` were already open."""
        return self._httpd.refused

    def start(self) -> MonitoringServer:
        self._thread.start()
        log.info("monitoring endpoint on http://%s:%d/metrics and /health", self.host, self.port)
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> MonitoringServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
