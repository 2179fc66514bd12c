"""Staff alerts: delivered to a local SMTP sink and a local webhook receiver, rate-limited, never fatal."""

from __future__ import annotations

import email
import json
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kiosk import config
from kiosk.appliance.alerts import Alerter, AlertWatcher, RateLimiter, WebhookChannel, start_alerts
from kiosk.appliance.monitoring import Metrics
from kiosk.errors import ConfigError

# -- a tiny SMTP sink: enough of RFC 5321 for smtplib's EHLO/MAIL/RCPT/DATA/QUIT ----------------------


class _SmtpHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.wfile.write(b"220 sink ESMTP\r\n")
        mail_from, rcpts = None, []
        while line := self.rfile.readline():
            cmd = line.decode().strip()
            verb = cmd.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250-sink\r\n250 8BITMIME\r\n")
            elif verb == "MAIL":
                mail_from = cmd
                self.wfile.write(b"250 ok\r\n")
            elif verb == "RCPT":
                rcpts.append(cmd)
                self.wfile.write(b"250 ok\r\n")
            elif verb == "DATA":
                self.wfile.write(b"354 go on\r\n")
                data = []
                while (dl := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(dl)
                self.server.messages.append((mail_from, rcpts, email.message_from_bytes(b"".join(data))))
                self.wfile.write(b"250 queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


class SmtpSink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.messages: list = []
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _HookHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.posts.append(body)
        if self.server.delay:
            time.sleep(self.server.delay)
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


class Webhook(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), _HookHandler)
        self.posts: list = []
        self.status, self.delay = status, delay
        self.url = f"http://127.0.0.1:{self.server_address[1]}/hook"
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()


@pytest.fixture
def sink():
    s = SmtpSink()
    yield s
    s.close()


@pytest.fixture
def hook():
    h = Webhook()
    yield h
    h.close()


class Clock:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


def settings_for(tmp_path, sink, hook, **alerts):
    cfg = tmp_path / "kiosk.toml"
    lines = ['email_to = ["desk@library.example"]', 'smtp_host = "127.0.0.1"', f"smtp_port = {sink.port}",
             'smtp_security = "none"', f'webhook_url = "{hook.url}"', 'kiosk_name = "Main-1"', "timeout_s = 5"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in alerts.items()]
    cfg.write_text(f'[storage]\ndata_dir = "{tmp_path / "data"}"\n[alerts]\n' + "\n".join(lines) + "\n")
    cfg.chmod(0o600)
    return config.load(cfg)


def watcher(settings, reg, clock):
    alerter = Alerter.from_settings(settings, reg, clock=clock)
    return AlertWatcher(settings.alerts, alerter, reg, clock=clock), alerter


def test_library_down_alert_by_email_and_webhook(tmp_path, sink, hook):
    reg, clock = Metrics(), Clock()
    w, alerter = watcher(settings_for(tmp_path, sink, hook, ils_down_after_min=10), reg, clock)
    reg.set("library_system_up", 0)
    assert w.check() == []
    clock.t += 9 * 60
    assert w.check() == []           # not yet: short outages do not page anyone
    clock.t += 61
    assert w.check() == ["library_system_down"]
    clock.t += 60
    assert w.check() == []           # once per outage
    reg.set("library_system_up", 1)
    assert w.check() == ["library_system_up"]
    assert alerter.flush(10)
    (frm, rcpts, msg), (_, _, back) = sink.messages
    assert msg["Subject"] == "[Main-1] library system unreachable" and "desk@library.example" in rcpts[0]
    assert "10 minutes" in msg.get_payload() and back["Subject"] == "[Main-1] library system reachable again"
    assert [p["kind"] for p in hook.posts] == ["library_system_down", "library_system_up"]
    assert hook.posts[0]["text"].startswith("[Main-1] library system unreachable:")
    assert reg.get("alerts_sent_total", channel="email") == 2 and reg.get("alerts_sent_total", channel="webhook") == 2
    alerter.close()


def test_paper_queue_afterhours_and_lockout_alerts(tmp_path, sink, hook):
    reg, clock = Metrics(), Clock()
    w, alerter = watcher(settings_for(tmp_path, sink, hook, queue_waiting_after_min=30), reg, clock)
    reg.set("printer_paper_out", 1)
    reg.set("journal_queue_length", 4)
    assert w.check() == ["printer_paper_out"]
    assert w.check() == []
    clock.t += 31 * 60
    reg.inc("afterhours_failures_total", reason="slot_jam")
    reg.inc("staff_lockouts_total")
    assert w.check() == ["queue_waiting", "afterhours_failure", "staff_lockout"]
    assert alerter.flush(10)
    texts = [p["text"] for p in hook.posts]
    assert "4 transaction(s) have waited 31 minutes" in texts[1]
    assert len(sink.messages) == 4
    alerter.close()


def test_rate_limit_per_kind_and_across_restart(tmp_path, sink, hook):
    settings = settings_for(tmp_path, sink, hook, min_interval_min=60)
    clock = Clock()
    reg = Metrics()
    a1 = Alerter.from_settings(settings, reg, clock=clock)
    assert a1.alert("printer_paper_out", "out of paper")
    assert not a1.alert("printer_paper_out", "out of paper")   # same kind within the hour: held back
    assert a1.alert("queue_waiting", "items waiting")           # another kind still goes out
    assert a1.flush(10)
    a1.close()
    # The watchdog restarts the kiosk: the limit must hold in the new process too.
    a2 = Alerter.from_settings(settings, reg, clock=clock)
    clock.t += 30 * 60
    assert not a2.alert("printer_paper_out", "out of paper")
    clock.t += 31 * 60
    assert a2.alert("printer_paper_out", "out of paper")
    assert a2.flush(10)
    assert [p["kind"] for p in hook.posts] == ["printer_paper_out", "queue_waiting", "printer_paper_out"]
    assert "2 similar alert(s) were held back" in hook.posts[-1]["text"]
    assert reg.get("alerts_suppressed_total", kind="printer_paper_out") == 2
    a2.close()


def test_rate_limit_overall_cap():
    lim = RateLimiter(min_interval_s=1, max_per_hour=3)
    t = 1000.0
    assert [lim.allow(f"k{i}", t + i)[0] for i in range(5)] == [True, True, True, False, False]
    assert lim.allow("k9", t + 3601)[0] is True  # the window slides


def test_failed_delivery_is_counted_not_raised(tmp_path, sink):
    bad_hook = Webhook(status=500)
    try:
        settings = settings_for(tmp_path, sink, bad_hook)
        reg = Metrics()
        a = Alerter.from_settings(settings, reg)
        sink.close()  # the mail server is gone too
        assert a.alert("test", "hello")
        assert a.flush(15)
        assert reg.get("alerts_failed_total", channel="webhook") == 1
        assert reg.get("alerts_failed_total", channel="email") == 1
        a.close()
    finally:
        bad_hook.close()


def test_webhook_timeout_is_honoured():
    slow = Webhook(delay=3)
    try:
        ch = WebhookChannel(slow.url, timeout_s=0.3)
        t0 = time.monotonic()
        with pytest.raises(Exception, match="(?i)timed? ?out"):
            ch.send(type("A", (), {"kiosk": "k", "kind": "test", "subject": "s", "text": "t", "time": 0.0})())
        assert time.monotonic() - t0 < 2.5
    finally:
        slow.close()


def test_smtp_timeout_on_a_silent_server():
    """A server that accepts but never greets must not hang the alert thread."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    try:
        from kiosk.appliance.alerts import Alert, EmailChannel

        sec = config.load(None).alerts
        sec = type(sec)(email_to=["x@example.org"], smtp_host="127.0.0.1", smtp_port=srv.getsockname()[1],
                        smtp_security="none", timeout_s=0.3)
        t0 = time.monotonic()
        with pytest.raises(OSError):
            EmailChannel(sec).send(Alert("test", "s", "t", 0.0, "k"))
        assert time.monotonic() - t0 < 2.5
    finally:
        srv.close()


def test_config_checks_and_off_by_default(tmp_path):
    assert start_alerts(config.load(None)) is None
    cfg = tmp_path / "k.toml"
    cfg.write_text('[alerts]\nemail_to = ["a@b.example"]\nwebhook_url = "ftp://x"\n')
    with pytest.raises(ConfigError) as err:
        config.load(cfg)
    assert "smtp_host: needed when email_to is set" in str(err.value)
    assert "webhook_url: expected an http:// or https:// URL" in str(err.value)


def test_start_alerts_runs_the_watcher(tmp_path, sink, hook):
    reg = Metrics()
    settings = settings_for(tmp_path, sink, hook)
    w = start_alerts(settings, reg, interval_s=0.05)
    try:
        reg.set("printer_paper_out", 1)
        deadline = time.monotonic() + 10
        while not hook.posts and time.monotonic() < deadline:
            time.sleep(0.02)
        assert hook.posts and hook.posts[0]["kind"] == "printer_paper_out"
    finally:
        w.stop()


class _DripServer:
    """A webhook receiver that answers one byte every ``gap_s`` (in the headers or in the body):
    each read is quick, the whole answer is not.  Bounded: ``n`` bytes, then it stops."""

    def __init__(self, where: str, n: int = 60, gap_s: float = 0.1) -> None:
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.url = f"http://127.0.0.1:{self.srv.getsockname()[1]}/hook"
        self.where, self.n, self.gap_s = where, n, gap_s
        self.sent = 0
        self.hung_up = threading.Event()
        self.done = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.srv.accept()
        try:
            conn.recv(65536)
            if self.where == "headers":
                head, drip, tail = b"HTTP/1.1 200 OK\r\nX-Drip: ", b"a" * self.n, b"\r\nContent-Length: 0\r\n\r\n"
            else:
                head, drip, tail = f"HTTP/1.1 200 OK\r\nContent-Length: {self.n}\r\n\r\n".encode(), b"a" * self.n, b""
            conn.sendall(head)
            for i in range(len(drip)):
                time.sleep(self.gap_s)
                conn.sendall(drip[i:i + 1])
                self.sent += 1
            conn.sendall(tail)
        except OSError:
            self.hung_up.set()
        finally:
            conn.close()
            self.done.set()


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_dripping_webhook_is_cut_off_at_the_total_deadline(where):
    """Issue 13 item 8: timeout_s is a deadline for the whole exchange, not for each read."""
    drip = _DripServer(where, n=60, gap_s=0.1)       # 6 s in all, each byte well within timeout_s
    ch = WebhookChannel(drip.url, timeout_s=0.5)
    alert = type("A", (), {"kiosk": "k", "kind": "test", "subject": "s", "text": "t", "time": 0.0})()
    with pytest.raises(TimeoutError, match="within 0.5 s"):
        ch.send(alert)
    # The kiosk hung up: the receiver's next byte hits a closed connection long before its end.
    assert drip.done.wait(10)
    assert drip.hung_up.is_set() and drip.sent < drip.n
    drip.srv.close()
