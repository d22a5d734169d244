#!/usr/bin/env python3
"""Live HAProxy harness: real logs from real misbehaviour, with a join key per line.

Starts a real HAProxy (Debian 2.6) on loopback in front of Python backends that
misbehave on purpose, drives short client scenarios through every log format,
collects what HAProxy logged, and writes a manifest that says which log line
each scenario produced and which termination state it carries. The Rust
integration test then runs halake over the logs and checks it against the
manifest. Nothing here parses logs with halake: the harness reads the
termination state and status with plain string splitting, as an independent
witness.

Usage: python3 tests/live/harness.py OUTDIR    (exit 0 on success)

Output contract with the Rust test (keep it exact):
  OUTDIR/haproxy.cfg                 the configuration actually used
  OUTDIR/haproxy.stderr              HAProxy's stderr
  OUTDIR/logs/<frontend>.syslog.log  every UDP datagram received for that frontend,
                                     one per line, as received (RFC3164 without hostname)
  OUTDIR/logs/global.syslog.log      health checks and other events (global `log`)
  OUTDIR/logs/stdout.log             `log stdout format raw` output of every frontend
  OUTDIR/scenarios.tsv               one row per scenario, columns:
      frontend scenario key_kind key expected observed_termination observed_status
      required attempts
    key_kind is `client_port` (the client's source port, as in `%cp`) or
    `path_token` (a string that appears in the logged URL; used on the unix
    socket, where `%ci:%cp` is `unix:<listener id>`). A client_port key can
    match several lines (keep-alive); they then all carry the same code.
    observed_* are `-` when there is no value: no line, a TCP line (no
    status), or a connection-error line such as `fe/1: SSL handshake failure`
    (those have expected `-` too). HAProxy is hard-stopped once every
    expected line is in, so frontend files hold no `Proxy fe_x stopped`
    shutdown events (a soft stop would log them to every frontend target).

Advice for hackers:
  * Everything binds to loopback on ports the kernel hands out; client source
    ports are never reused within a run because they are the join key.
  * HAProxy is started before any Python thread exists (preexec_fn is only
    safe then), with PR_SET_PDEATHSIG so it cannot outlive the harness, and is
    stopped in `finally` on every path.
  * Only deterministic scenarios are `required`. Timing-sensitive ones are
    retried once and their outcome is recorded, not enforced.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import os
import queue
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from typing import Callable
from urllib.parse import parse_qsl, urlsplit

LOOPBACK4 = "127.0.0.1"
LOOPBACK6 = "::1"

# HAProxy timeouts. Short so the whole run takes seconds; the normal server
# timeout stays generous so a loaded CI machine does not turn 200s into sH.
TIMEOUT_CLIENT_MS = 1000
TIMEOUT_HTTP_REQUEST_MS = 400
TIMEOUT_KEEPALIVE_MS = 300
TIMEOUT_TARPIT_MS = 300
TIMEOUT_QUEUE_MS = 300
TIMEOUT_CONNECT_MS = 300
TIMEOUT_SERVER_MS = 3000
TIMEOUT_SERVER_SHORT_MS = 300  # be_slow, be_mute, be_tcp_short

# How long the misbehaving backends stall: well past TIMEOUT_SERVER_SHORT_MS.
SLOW_BACKEND_STALL_S = 1.5
# Client waits: well past the HAProxy timeout each one is meant to trigger.
CLIENT_IDLE_PAST_TIMEOUT_S = TIMEOUT_CLIENT_MS / 1000 + 0.8
CLIENT_SOCKET_TIMEOUT_S = 5.0
SCENARIO_DEADLINE_S = 12.0
LINES_DEADLINE_S = 8.0
WORKERS = 16

SHORT_LOG_LEN = 300
CUSTOM_LOG_LEN = 4096
LONG_URI_CHARS = 3000
USER_AGENT = "halake-live/1.0 (harness; +loopback)"

# The rich custom format from the brief (the corpus fe_custom minus the SNI fetch).
CUSTOM1_FORMAT = (
    "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %U %CC %CS %tsc "
    "%ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r %ID %sslv %sslc %HM %{+Q}HP %HV "
    "%fi:%fp %si:%sp %Tt %Th %Ti %Tu %rt %lc %pid"
)
CUSTOM1_UNIQUE_ID = r"%{+X}o\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid"
# A second custom format: `|` separators, a different order, global quoting
# with per-item opt-outs, hex and UTC dates, every timer, one field per capture.
CUSTOM2_FORMAT = (
    "%{+Q}o %Ts.%ms|%ft|%b|%s|%tsc|%ST|%{-Q}ci|%{-Q}cp|%fi:%fp|%bi:%bp|%si:%sp|%B|%U|"
    "%Th/%Ti/%TR/%Tw/%Tc/%Tr/%Td/%Ta/%Tt/%Tq/%Tu|%ac/%fc/%bc/%sc/%rc|%sq/%bq|"
    "%T|%t|%{+X}rt|%lc|%CC|%CS|%HM|%HU|%HP|%HPO|%HQ|%HV|%r|%hrl|%hsl"
)

# Which line shape each frontend logs, for the harness's own field reader.
FRONTEND_SHAPES = {
    "fe_httplog": "http",
    "fe_httpslog": "http",
    "fe_logasap": "http",
    "fe_shortlen": "http",
    "fe_unix": "http",
    "fe_tcplog": "tcp",
    "fe_clf": "clf",
    "fe_custom1": "custom1",
    "fe_custom2": "custom2",
}
FRONTENDS = list(FRONTEND_SHAPES)


class HarnessError(Exception):
    """A setup problem that makes the run meaningless (exit 2)."""


# --------------------------------------------------------------------- tools


def ensure_tools() -> dict[str, str]:
    """Find haproxy, curl and openssl, installing Debian packages if missing."""
    found = {}
    for tool in ("haproxy", "curl", "openssl"):
        path = shutil.which(tool) or _sbin(tool)
        if path is None:
            _apt_install(tool)
            path = shutil.which(tool) or _sbin(tool)
        if path is None:
            raise HarnessError(f"{tool} is not installed and could not be installed")
        found[tool] = path
    return found


def _sbin(tool: str) -> str | None:
    # Non-login shells often lack /usr/sbin on PATH, where Debian puts haproxy.
    path = f"/usr/sbin/{tool}"
    return path if os.access(path, os.X_OK) else None


def _apt_install(package: str) -> None:
    if os.geteuid() != 0:
        raise HarnessError(f"{package} is missing; install it (apt-get install {package})")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    print(f"harness: installing {package} with apt-get", flush=True)
    cmd = ["apt-get", "install", "-y", "-q", package]
    if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL)
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL)


def make_certificate(openssl: str, run_dir: str) -> str:
    """Self-signed cert+key in one PEM, as HAProxy's `crt` wants it."""
    key, crt, pem = (os.path.join(run_dir, n) for n in ("key.pem", "crt.pem", "cert.pem"))
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=localhost"],
        check=True, capture_output=True, timeout=30,
        env=dict(os.environ, RANDFILE=os.path.join(run_dir, ".rnd")),
    )
    with open(pem, "wb") as out:
        for part in (crt, key):
            with open(part, "rb") as f:
                out.write(f.read())
    return pem


# --------------------------------------------------------------------- ports


class PortRegistry:
    """Loopback ports from the kernel; a client port is handed out once per run.

    The client source port is the join key between a scenario and its log
    line, so two scenarios must never share one, even after the first closed.
    """

    def __init__(self, ipv6: bool):
        self.ipv6 = ipv6
        self._used: set[int] = set()
        self._lock = threading.Lock()

    def _claim(self, port: int) -> bool:
        with self._lock:
            if port in self._used:
                return False
            self._used.add(port)
            return True

    def listener_port(self) -> int:
        """A port free on 127.0.0.1 (and on ::1 when IPv6 is in use)."""
        for _ in range(100):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s4:
                s4.bind((LOOPBACK4, 0))
                port = s4.getsockname()[1]
                if self.ipv6 and not _bindable6(port):
                    continue
            if self._claim(port):
                return port
        raise HarnessError("could not find a free loopback port")

    def client_socket(self, family: int, timeout_s: float) -> tuple[socket.socket, int]:
        """An unconnected socket bound to a never-used loopback source port."""
        host = LOOPBACK6 if family == socket.AF_INET6 else LOOPBACK4
        for _ in range(100):
            s = socket.socket(family, socket.SOCK_STREAM)
            s.settimeout(timeout_s)
            s.bind((host, 0))
            port = s.getsockname()[1]
            if self._claim(port):
                return s, port
            s.close()
        raise HarnessError("could not find an unused client port")

    def spare_client_port(self, family: int = socket.AF_INET) -> int:
        """A never-used port for a tool that binds it itself (curl --local-port)."""
        s, port = self.client_socket(family, 1.0)
        s.close()
        return port


def _bindable6(port: int) -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6:
            s6.bind((LOOPBACK6, port))
        return True
    except OSError:
        return False


def ipv6_loopback_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6:
            s6.bind((LOOPBACK6, 0))
        return True
    except OSError:
        return False


# ------------------------------------------------------------------ backends


@dataclasses.dataclass
class HttpRequest:
    method: str
    target: str
    version: str
    headers: dict[str, str]
    body: bytes

    @property
    def params(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.target).query, keep_blank_values=True))

    @property
    def wants_close(self) -> bool:
        conn = self.headers.get("connection", "").lower()
        return conn == "close" or (self.version == "HTTP/1.0" and conn != "keep-alive")


def recv_until(conn: socket.socket, buf: bytes, complete) -> bytes | None:
    """Reads until `complete(buf)` holds; None if the peer closes first."""
    while not complete(buf):
        data = conn.recv(65536)
        if not data:
            return None
        buf += data
    return buf


def read_http_request(conn: socket.socket, buf: bytes) -> tuple[HttpRequest, bytes] | None:
    """One request from a keep-alive connection; None at EOF. Returns the leftover bytes."""
    buf = recv_until(conn, buf, lambda b: b"\r\n\r\n" in b)
    if buf is None:
        return None
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        return None
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        rest = recv_until(conn, rest, lambda b: b"0\r\n\r\n" in b)
        if rest is None:
            return None
        body, _, rest = rest.partition(b"0\r\n\r\n")
    else:
        length = int(headers.get("content-length", "0") or 0)
        rest = recv_until(conn, rest, lambda b: len(b) >= length)
        if rest is None:
            return None
        body, rest = rest[:length], rest[length:]
    return HttpRequest(parts[0], parts[1], parts[2], headers, body), rest


def reset_and_close(sock: socket.socket) -> None:
    """Close with SO_LINGER 0 so the peer gets an RST instead of a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def http_response(status: str, body: bytes, extra_headers: list[str] = ()) -> bytes:
    head = [f"HTTP/1.1 {status}", "Content-Type: text/plain", f"Content-Length: {len(body)}"]
    head.extend(extra_headers)
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


class BackendPool:
    """The Python backends: one accept thread per listener, one thread per connection.

    listen(), refusing_port() and blackhole_port() only create sockets; the
    threads start in start(), after HAProxy was forked (see start_haproxy).
    """

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._listeners: list[tuple[socket.socket, Callable]] = []
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._seen_cond = threading.Condition(self._lock)

    def listen(self, handler: Callable[[socket.socket], None], backlog: int = 128) -> int:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((LOOPBACK4, 0))
        s.listen(backlog)
        s.settimeout(0.2)
        self._listeners.append((s, handler))
        self._sockets.append(s)
        return s.getsockname()[1]

    def refusing_port(self) -> int:
        """A port bound but not listening: connects get an RST, and nobody else can take it."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((LOOPBACK4, 0))
        self._sockets.append(s)
        return s.getsockname()[1]

    def blackhole_port(self) -> int:
        """A listener whose accept queue is full, so the kernel drops new SYNs:
        HAProxy's connect never completes and `timeout connect` fires (sC)."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((LOOPBACK4, 0))
        s.listen(0)
        self._sockets.append(s)
        port = s.getsockname()[1]
        for _ in range(3):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            filler.connect_ex((LOOPBACK4, port))
            self._sockets.append(filler)
        return port

    def start(self) -> None:
        for sock, handler in self._listeners:
            threading.Thread(target=self._accept_loop, args=(sock, handler), daemon=True).start()

    def close(self) -> None:
        self.stop.set()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for s in sockets:
            try:
                s.close()
            except OSError:
                pass

    def note_seen(self, target: str) -> None:
        with self._seen_cond:
            self._seen.add(target)
            self._seen_cond.notify_all()

    def wait_seen(self, fragment: str, timeout_s: float) -> bool:
        """Wait until a backend received a request whose target contains fragment."""
        end = time.monotonic() + timeout_s
        with self._seen_cond:
            while not any(fragment in t for t in self._seen):
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._seen_cond.wait(left)
            return True

    def _accept_loop(self, listener: socket.socket, handler: Callable) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(CLIENT_SOCKET_TIMEOUT_S * 2)
            with self._lock:
                self._sockets.append(conn)
            threading.Thread(target=self._serve, args=(conn, handler), daemon=True).start()

    def _serve(self, conn: socket.socket, handler: Callable) -> None:
        try:
            handler(conn)
        except (OSError, ValueError):
            pass  # peers hang up on purpose all the time here
        finally:
            try:
                conn.close()
            except OSError:
                pass

    # ---- handlers: each gets an accepted connection and owns it

    def handle_app(self, name: str) -> Callable[[socket.socket], None]:
        """The normal server, driven by query parameters:
        ms=N delay before answering; size=N body bytes; setcookie=V and
        hdr=Name:Value add headers; close=1 hang up instead of answering;
        badstatus=1 send an invalid status line; abort_after=N / stall_after=N
        send N body bytes then reset / stall for stall=S seconds."""

        def serve(conn: socket.socket) -> None:
            buf = b""
            while not self.stop.is_set():
                got = read_http_request(conn, buf)
                if got is None:
                    return
                req, buf = got
                self.note_seen(req.target)
                p = req.params
                if "ms" in p:
                    self.stop.wait(int(p["ms"]) / 1000)
                if "close" in p:
                    return
                if "badstatus" in p:
                    conn.sendall(b"HTTP/1.1 2x0 Broken\r\nContent-Length: 0\r\n\r\n")
                    return
                size = int(p.get("size", 0))
                body = f"ok from {name} {req.method} {req.target[:64]}\n".encode()
                body = body + b"x" * max(0, size - len(body))
                extra = [f"X-Backend: {name}"]
                if "setcookie" in p:
                    extra.append(f"Set-Cookie: {p['setcookie']}")
                if "hdr" in p:
                    extra.append(p["hdr"])
                response = http_response("200 OK", b"" if req.method == "HEAD" else body, extra)
                if "abort_after" in p or "stall_after" in p:
                    cut = len(response) - len(body) + int(p.get("abort_after", p.get("stall_after")))
                    conn.sendall(response[:cut])
                    if "abort_after" in p:
                        reset_and_close(conn)
                    else:
                        self.stop.wait(float(p.get("stall", SLOW_BACKEND_STALL_S)))
                    return
                conn.sendall(response)
                if req.wants_close:
                    return

        return serve

    def handle_slow(self, conn: socket.socket) -> None:
        """Answers only after SLOW_BACKEND_STALL_S (> timeout server): sH.
        Under /slow/body it sends the headers and part of the body first: sD."""
        got = read_http_request(conn, b"")
        if got is None:
            return
        req, _ = got
        body = b"s" * 100000
        response = http_response("200 OK", body)
        if "/body" in req.target:
            conn.sendall(response[: len(response) - len(body) + 1000])
        self.stop.wait(SLOW_BACKEND_STALL_S)
        conn.sendall(response)

    def handle_close(self, conn: socket.socket) -> None:
        """Reads the request and closes without a word: SH."""
        read_http_request(conn, b"")

    def handle_reset(self, conn: socket.socket) -> None:
        """Reads the request and resets the connection: SH."""
        read_http_request(conn, b"")
        reset_and_close(conn)

    def handle_mute(self, conn: socket.socket) -> None:
        """Accepts, reads, never answers (until the harness stops)."""
        read_http_request(conn, b"")
        self.stop.wait(SCENARIO_DEADLINE_S)

    def handle_tcp_echo(self, conn: socket.socket) -> None:
        """A banner first, so the server side has spoken (tcplog bytes > 0), then echo."""
        conn.sendall(b"HELLO halake-live echo\n")
        while not self.stop.is_set():
            data = conn.recv(65536)
            if not data:
                return
            conn.sendall(data)


# ------------------------------------------------------------------- syslog


class SyslogReceiver:
    """A UDP socket that keeps every datagram HAProxy sends to one log target."""

    def __init__(self, name: str):
        self.name = name
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        except OSError:
            pass
        self.sock.bind((LOOPBACK4, 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self._datagrams: list[bytes] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self._datagrams.append(data)

    def datagrams(self) -> list[bytes]:
        with self._lock:
            return list(self._datagrams)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
        self.sock.close()

    def write(self, path: str) -> int:
        data = self.datagrams()
        with open(path, "wb") as f:
            for d in data:
                f.write(d[:-1] if d.endswith(b"\n") else d)
                f.write(b"\n")
        return len(data)


# ------------------------------------------------------------------- config


@dataclasses.dataclass
class Environment:
    """Every address the run uses, decided before HAProxy starts."""

    outdir: str
    run_dir: str
    cert: str
    unix_socket: str
    admin_socket: str
    ipv6: bool
    ports: PortRegistry
    pool: BackendPool
    receivers: dict[str, SyslogReceiver]
    frontend_ports: dict[str, int] = dataclasses.field(default_factory=dict)
    tls_ports: dict[str, int] = dataclasses.field(default_factory=dict)
    tcp_ports: dict[str, int] = dataclasses.field(default_factory=dict)
    backend_ports: dict[str, int] = dataclasses.field(default_factory=dict)
    curl: str = "curl"


def allocate_backends(env: Environment) -> None:
    pool = env.pool
    env.backend_ports = {
        "app1": pool.listen(pool.handle_app("app1")),
        "app2": pool.listen(pool.handle_app("app2")),
        "slow": pool.listen(pool.handle_slow),
        "close": pool.listen(pool.handle_close),
        "reset": pool.listen(pool.handle_reset),
        "mute": pool.listen(pool.handle_mute),
        "echo": pool.listen(pool.handle_tcp_echo),
        "refused": pool.refusing_port(),
        "blackhole": pool.blackhole_port(),
    }


def allocate_frontend_ports(env: Environment) -> None:
    """Free now, but HAProxy binds them a moment later: see launch_haproxy."""
    ports = env.ports
    for fe in FRONTENDS:
        if fe != "fe_unix":
            env.frontend_ports[fe] = ports.listener_port()
    for fe in ("fe_httpslog", "fe_custom1"):
        env.tls_ports[fe] = ports.listener_port()
    # fe_tcplog routes on the destination port: one bind per TCP scenario kind.
    for name in ("ok", "refused", "blackhole", "short", "long", "reject", "tls"):
        env.tcp_ports[name] = ports.listener_port()


def build_config(env: Environment) -> str:
    be = env.backend_ports
    udp = {name: r.port for name, r in env.receivers.items()}
    crt = env.cert

    def binds(port: int, tls: bool = False, v6: bool = True) -> str:
        opts = f" ssl crt {crt} alpn h2,http/1.1" if tls else ""
        out = f"    bind {LOOPBACK4}:{port}{opts}\n"
        if v6 and env.ipv6:
            out += f"    bind [{LOOPBACK6}]:{port}{opts}\n"
        return out

    def logs(fe: str, length: int | None = None) -> str:
        ln = f" len {length}" if length else ""
        return (f"    log {LOOPBACK4}:{udp[fe]}{ln} local0\n"
                f"    log stdout{ln} format raw local0\n")

    http_common = """\
    capture request header Host len 32
    capture request header User-Agent len 64
    capture response header Content-Type len 32
    capture cookie SERVERID len 32
    stats enable
    stats uri /haproxy-stats
    http-request deny deny_status 403 if { path_beg /deny }
    http-request tarpit if { path_beg /tarpit }
    http-request silent-drop if { path_beg /silent }
    http-request reject if { path_beg /reject }
    http-request redirect location /ok/redirected code 302 if { path_beg /redir }
    http-request return status 200 content-type text/plain string "returned by haproxy" if { path_beg /return }
    http-response deny if { res.hdr(X-Deny) -m found }
    # /<name>/... goes to be_<name>; unknown names fall back to be_app
    use_backend be_%[path,field(2,/)]
    default_backend be_app
"""
    tcp = env.tcp_ports
    cfg = f"""\
# Generated by tests/live/harness.py; loopback only, ports chosen by the kernel.
global
    log {LOOPBACK4}:{udp['global']} local1
    stats socket {env.admin_socket} mode 600 level admin
    maxconn 1000
    # One thread: with two, HAProxy drops a stdout line when both threads log at
    # once and the writer is descheduled (fd_write_frag_line gives up after 200
    # spins and counts DroppedLogs), and the test needs every line in both targets.
    nbthread 1
    hard-stop-after 3s
    # small client send buffer: a client that stops reading blocks HAProxy fast (cD)
    tune.sndbuf.client 16384
    ssl-default-bind-options ssl-min-ver TLSv1.2

# ------------------------------------------------------------------ backends
defaults backends
    mode http
    log global
    option log-health-checks
    timeout connect {TIMEOUT_CONNECT_MS}ms
    timeout client {TIMEOUT_CLIENT_MS}ms
    timeout server {TIMEOUT_SERVER_MS}ms
    timeout queue {TIMEOUT_QUEUE_MS}ms
    timeout check {TIMEOUT_CONNECT_MS}ms
    retries 1

backend be_app
    server app1 {LOOPBACK4}:{be['app1']}

backend be_slow
    timeout server {TIMEOUT_SERVER_SHORT_MS}ms
    server slow {LOOPBACK4}:{be['slow']}

backend be_mute
    timeout server {TIMEOUT_SERVER_SHORT_MS}ms
    server mute {LOOPBACK4}:{be['mute']}

backend be_close
    server close {LOOPBACK4}:{be['close']}

backend be_reset
    server reset {LOOPBACK4}:{be['reset']}

backend be_refused
    server dead {LOOPBACK4}:{be['refused']}

backend be_blackhole
    server hole {LOOPBACK4}:{be['blackhole']}

backend be_nosrv

backend be_queue
    server q1 {LOOPBACK4}:{be['app1']} maxconn 1

# maxqueue only bounds a server's own queue, which a request joins only when
# it is bound to that server: use-server does that
backend be_queuefull
    timeout queue 2s
    use-server q1 if TRUE
    server q1 {LOOPBACK4}:{be['app2']} maxconn 1 maxqueue 1

# `first` always picks the dead server first; redispatch moves the last retry
backend be_redisp
    balance first
    option redispatch
    retries 2
    server dead {LOOPBACK4}:{be['refused']}
    server alive {LOOPBACK4}:{be['app2']}

# insert mode with dates: NI, VN, VU, II, DI, EI, OI, UN
backend be_ck
    balance roundrobin
    cookie SERVERID insert indirect nocache maxidle 30s maxlife 1h
    use-server s2 if {{ path_beg /ck/force }}
    server s1 {LOOPBACK4}:{be['app1']} cookie s1
    server s2 {LOOPBACK4}:{be['app2']} cookie s2
    server s3 {LOOPBACK4}:{be['app1']} cookie s3 disabled

# receives no traffic: its health checks feed the global log
backend be_checked
    option httpchk GET /health
    server up {LOOPBACK4}:{be['app1']} check inter 500 fall 1 rise 1
    server down {LOOPBACK4}:{be['refused']} check inter 500 fall 1 rise 1

backend be_tcp_app
    mode tcp
    server echo {LOOPBACK4}:{be['echo']}

backend be_tcp_refused
    mode tcp
    server dead {LOOPBACK4}:{be['refused']}

backend be_tcp_blackhole
    mode tcp
    server hole {LOOPBACK4}:{be['blackhole']}

backend be_tcp_short
    mode tcp
    timeout server {TIMEOUT_SERVER_SHORT_MS}ms
    server echo {LOOPBACK4}:{be['echo']}

backend be_tcp_long
    mode tcp
    timeout server 10s
    server echo {LOOPBACK4}:{be['echo']}

# ----------------------------------------------------------------- frontends
defaults frontends
    mode http
    timeout client {TIMEOUT_CLIENT_MS}ms
    timeout http-request {TIMEOUT_HTTP_REQUEST_MS}ms
    timeout http-keep-alive {TIMEOUT_KEEPALIVE_MS}ms
    timeout tarpit {TIMEOUT_TARPIT_MS}ms
    timeout queue {TIMEOUT_QUEUE_MS}ms
    timeout connect {TIMEOUT_CONNECT_MS}ms
    timeout server {TIMEOUT_SERVER_MS}ms

frontend fe_httplog
{binds(env.frontend_ports['fe_httplog'])}    option httplog
    option log-separate-errors
{logs('fe_httplog')}{http_common}
frontend fe_httpslog
{binds(env.tls_ports['fe_httpslog'], tls=True)}    option httpslog
{logs('fe_httpslog')}{http_common}
frontend fe_clf
{binds(env.frontend_ports['fe_clf'])}    option httplog clf
{logs('fe_clf')}{http_common}
frontend fe_custom1
{binds(env.frontend_ports['fe_custom1'])}\
{binds(env.tls_ports['fe_custom1'], tls=True, v6=False)}\
    unique-id-format {CUSTOM1_UNIQUE_ID}
    unique-id-header X-Unique-ID
    log-format "{CUSTOM1_FORMAT}"
{logs('fe_custom1', CUSTOM_LOG_LEN)}{http_common}
frontend fe_custom2
{binds(env.frontend_ports['fe_custom2'], v6=False)}    log-format "{CUSTOM2_FORMAT}"
{logs('fe_custom2', CUSTOM_LOG_LEN)}{http_common}
frontend fe_logasap
{binds(env.frontend_ports['fe_logasap'], v6=False)}    option httplog
    option logasap
{logs('fe_logasap')}{http_common}
frontend fe_shortlen
{binds(env.frontend_ports['fe_shortlen'], v6=False)}    option httplog
{logs('fe_shortlen', SHORT_LOG_LEN)}{http_common}
frontend fe_unix
    bind unix@{env.unix_socket}
    option httplog
{logs('fe_unix')}{http_common}
frontend fe_tcplog
    mode tcp
{''.join(binds(tcp[k], v6=(k == 'ok')) for k in ('ok', 'refused', 'blackhole', 'short', 'long', 'reject'))}\
    bind {LOOPBACK4}:{tcp['tls']} ssl crt {crt}
    option tcplog
{logs('fe_tcplog')}\
    tcp-request inspect-delay 500ms
    tcp-request content reject if {{ dst_port {tcp['reject']} }}
    use_backend be_tcp_refused if {{ dst_port {tcp['refused']} }}
    use_backend be_tcp_blackhole if {{ dst_port {tcp['blackhole']} }}
    use_backend be_tcp_short if {{ dst_port {tcp['short']} }}
    use_backend be_tcp_long if {{ dst_port {tcp['long']} }}
    default_backend be_tcp_app
"""
    return cfg


# ------------------------------------------------------------------ haproxy


_LIBC = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: HAProxy gets SIGKILL if the
    # harness dies, even by SIGKILL, so it can never be left behind.
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def check_config(haproxy: str, cfg_path: str) -> None:
    done = subprocess.run([haproxy, "-c", "-f", cfg_path], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise HarnessError(f"haproxy rejected {cfg_path}:\n{done.stdout}{done.stderr}")


def start_haproxy(haproxy: str, env: Environment, cfg_path: str) -> subprocess.Popen:
    """Must run before any thread exists: preexec_fn is not thread-safe."""
    stdout = open(os.path.join(env.outdir, "logs", "stdout.log"), "wb")
    stderr = open(os.path.join(env.outdir, "haproxy.stderr"), "wb")
    try:
        return subprocess.Popen(
            [haproxy, "-db", "-f", cfg_path],
            stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
            cwd=env.run_dir, start_new_session=True, preexec_fn=_die_with_parent,
        )
    finally:
        stdout.close()
        stderr.close()


def launch_haproxy(haproxy: str, env: Environment) -> subprocess.Popen:
    """Write the config and start HAProxy. A frontend port picked as free can
    be taken before HAProxy binds it; then pick new ones and try once more."""
    cfg_path = os.path.join(env.outdir, "haproxy.cfg")
    for attempt in (1, 2):
        allocate_frontend_ports(env)
        with open(cfg_path, "w") as f:
            f.write(build_config(env))
        check_config(haproxy, cfg_path)
        proc = start_haproxy(haproxy, env, cfg_path)
        try:
            wait_until_ready(proc, env)
            return proc
        except HarnessError:
            stop_haproxy(proc)
            with open(os.path.join(env.outdir, "haproxy.stderr"), errors="replace") as f:
                lost_port = "cannot bind socket" in f.read()
            if attempt == 2 or not lost_port:
                raise
    raise AssertionError("unreachable")


def wait_until_ready(proc: subprocess.Popen, env: Environment, timeout_s: float = 10.0) -> None:
    """Ask the admin socket: it answers once every listener is bound.
    (Probing a traffic port would itself log a line.)"""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise HarnessError(f"haproxy exited with {proc.returncode}; see {env.outdir}/haproxy.stderr")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(1.0)
                s.connect(env.admin_socket)
                s.sendall(b"show version\n")
                if s.recv(100):
                    return
        except OSError:
            time.sleep(0.05)
    raise HarnessError("haproxy did not become ready")


def stop_haproxy(proc: subprocess.Popen) -> None:
    """Hard stop: every expected line is in by now, and a soft stop (SIGUSR1)
    would write `Proxy fe_x stopped` warnings into each frontend's own log."""
    if proc.poll() is not None:
        return
    for sig, wait_s in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 5.0)):
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def admin_command(env: Environment, command: str) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2.0)
        s.connect(env.admin_socket)
        s.sendall(command.encode() + b"\n")
        return read_until_close(s, 2.0).decode(errors="replace")


def wait_server_queue(env: Environment, backend: str, server: str, length: int, timeout_s: float) -> bool:
    """Wait until `show stat` reports that many requests queued on the server."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        for row in admin_command(env, "show stat").splitlines():
            f = row.split(",")
            if f[:2] == [backend, server] and f[2] == str(length):  # pxname,svname,qcur
                return True
        time.sleep(0.02)
    return False


# ---------------------------------------------------------------- log lines


@dataclasses.dataclass
class LogRecord:
    """What the harness reads from one log line, independently of halake."""

    kind: str  # "traffic", "conn-error" or "other"
    client_port: str
    termination: str
    status: str
    message: str


SYSLOG_HEADER = re.compile(r"^<\d+>\w{3} [ \d]\d \d\d:\d\d:\d\d \S+?\[\d+\]: ")


def syslog_message(datagram: str) -> str:
    m = SYSLOG_HEADER.match(datagram)
    return datagram[m.end():] if m else datagram


def read_record(shape: str, message: str) -> LogRecord:
    other = LogRecord("other", "-", "-", "-", message)
    f = message.split(" ")
    # Connection errors before a stream exists: `ip:port [date] fe/bind: text`
    if len(f) >= 4 and f[1].startswith("[") and f[2].endswith(":") and "/" in f[2]:
        return LogRecord("conn-error", _port_of(f[0]), "-", "-", message)
    try:
        if shape == "http" and f[1].startswith("["):
            return LogRecord("traffic", _port_of(f[0]), f[9], f[5], message)
        if shape == "custom1" and f[1].startswith("["):
            return LogRecord("traffic", _port_of(f[0]), f[10], f[5], message)
        if shape == "tcp" and f[1].startswith("["):
            return LogRecord("traffic", _port_of(f[0]), f[6], "-", message)
        if shape == "clf":
            # ci - - [date +0000] "request" ST B "" "" cp ms "fe" "be" "srv" TR Tw Tc Tr Ta tsc
            start = message.index('] "') + 3
            rest = message[message.index('" ', start) + 2:].split(" ")
            return LogRecord("traffic", rest[4], rest[14], rest[0], message)
        if shape == "custom2":
            p = message.split("|")
            return LogRecord("traffic", p[7].strip('"'), p[4], p[5], message)
    except (IndexError, ValueError):
        pass
    return other


def _port_of(address: str) -> str:
    return address.rsplit(":", 1)[1] if ":" in address else "-"


# ---------------------------------------------------------------- scenarios


@dataclasses.dataclass
class Attempt:
    """One run of a scenario: the client side plus the key it ended up with."""

    env: Environment
    scenario: "Scenario"
    number: int
    key_kind: str = ""
    key: str = ""
    note: str = ""

    @property
    def token(self) -> str:
        return f"k-{self.scenario.name}-a{self.number}"

    def path(self, template: str) -> str:
        return template.replace("{token}", self.token)

    def connect(self, family: int, port: int) -> socket.socket:
        sock, src = self.env.ports.client_socket(family, CLIENT_SOCKET_TIMEOUT_S)
        self.key_kind, self.key = "client_port", str(src)
        host = LOOPBACK6 if family == socket.AF_INET6 else LOOPBACK4
        try:
            sock.connect((host, port))
        except OSError:
            sock.close()
            raise
        return sock

    def open_http(self, frontend: str, *, v6: bool = False, tls: bool = False) -> socket.socket:
        if frontend == "fe_unix":
            self.key_kind, self.key = "path_token", self.token
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(CLIENT_SOCKET_TIMEOUT_S)
            sock.connect(self.env.unix_socket)
            return sock
        port = (self.env.tls_ports if tls else self.env.frontend_ports)[frontend]
        sock = self.connect(socket.AF_INET6 if v6 else socket.AF_INET, port)
        return wrap_tls(sock) if tls else sock

    def open_tcp(self, name: str, *, v6: bool = False, tls: bool = False) -> socket.socket:
        sock = self.connect(socket.AF_INET6 if v6 else socket.AF_INET, self.env.tcp_ports[name])
        return wrap_tls(sock) if tls else sock

    def request(self, method: str, path: str, *, headers: list[str] = (), body: bytes = b"",
                keepalive: bool = False, version: str = "HTTP/1.1") -> bytes:
        lines = [f"{method} {self.path(path)} {version}", "Host: localhost", f"User-Agent: {USER_AGENT}"]
        lines.extend(headers)
        if body:
            lines.append(f"Content-Length: {len(body)}")
        if not keepalive:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    def curl(self, frontend: str, path: str, *args: str, tls: bool = False, v6: bool = False) -> None:
        """One curl request; bounded by --max-time and a subprocess timeout."""
        base = [self.env.curl, "-sS", "-k", "-o", "/dev/null", "--max-time", "5", "-A", "halake-live-curl/1.0"]
        if frontend == "fe_unix":
            self.key_kind, self.key = "path_token", self.token
            base += ["--unix-socket", self.env.unix_socket]
            url = f"http://localhost{self.path(path)}"
        else:
            port = (self.env.tls_ports if tls else self.env.frontend_ports)[frontend]
            host = f"[{LOOPBACK6}]" if v6 else LOOPBACK4
            url = f"{'https' if tls else 'http'}://{host}:{port}{self.path(path)}"
        for _ in range(3):
            if frontend != "fe_unix":
                family = socket.AF_INET6 if v6 else socket.AF_INET
                local = self.env.ports.spare_client_port(family)
                self.key_kind, self.key = "client_port", str(local)
                extra = ["--local-port", str(local)]
            else:
                extra = []
            done = subprocess.run(base + extra + list(args) + [url], capture_output=True, timeout=10)
            if done.returncode != 45:  # 45: could not bind the local port; try another
                self.note = done.stderr.decode(errors="replace").strip()[:200]
                return


def wrap_tls(sock: socket.socket, alpn: str = "http/1.1") -> ssl.SSLSocket:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols([alpn])
    return ctx.wrap_socket(sock, server_hostname="localhost")


def read_until_close(sock: socket.socket, limit_s: float = CLIENT_SOCKET_TIMEOUT_S) -> bytes:
    data = b""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, ssl.SSLError, ConnectionResetError):
            break
        if not chunk:
            break
        data += chunk
    return data


def read_one_response(sock: socket.socket, buf: bytes) -> tuple[bytes, bytes]:
    """A Content-Length framed response from a keep-alive connection."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response headers")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    length = int(m.group(1)) if m else 0
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside the response body")
        rest += chunk
    return head, rest[length:]


Action = Callable[[Attempt], None]


@dataclasses.dataclass
class Scenario:
    frontend: str
    name: str
    action: Action
    expected: str  # termination state; `-` for connection-error lines
    status: str | None = None  # expected status; None = not checked
    required: bool = False
    lines: int = 1  # lines the key must match (keep-alive logs one per request)
    group: str | None = None  # scenarios of one group run one after another
    line_check: Callable[[str], str | None] | None = None  # returns a problem or None
    attempts: list[Attempt] = dataclasses.field(default_factory=list)
    records: list[LogRecord] = dataclasses.field(default_factory=list)
    problem: str = "not run"

    @property
    def expected_kind(self) -> str:
        return "conn-error" if self.expected == "-" else "traffic"


# ---- scenario actions. Each returns a function of an Attempt; all sockets
# have timeouts, so every action ends on its own.


def get(frontend: str, path: str, *, method: str = "GET", headers: list[str] = (), body: bytes = b"",
        v6: bool = False, tls: bool = False, version: str = "HTTP/1.1") -> Action:
    """One request, read the answer until HAProxy closes."""

    def run(a: Attempt) -> None:
        with a.open_http(frontend, v6=v6, tls=tls) as s:
            s.sendall(a.request(method, path, headers=headers, body=body, version=version))
            read_until_close(s)

    return run


def keepalive(frontend: str, paths: list[str]) -> Action:
    """Several requests on one connection; the last one asks to close."""

    def run(a: Attempt) -> None:
        with a.open_http(frontend) as s:
            buf = b""
            for i, path in enumerate(paths):
                s.sendall(a.request("GET", path, keepalive=i < len(paths) - 1))
                _, buf = read_one_response(s, buf)
            read_until_close(s)

    return run


def raw(frontend: str, data: bytes, read: bool = True) -> Action:
    """Send bytes as they are ({token} filled in), then read until HAProxy
    closes, or (read=False) close at once, mid-request."""

    def run(a: Attempt) -> None:
        with a.open_http(frontend) as s:
            s.sendall(a.path(data.decode("latin-1")).encode("latin-1"))
            if read:
                read_until_close(s)

    return run


def partial_then_timeout(frontend: str) -> Action:
    """Half a request, then silence past `timeout http-request`: HAProxy answers 408."""

    def run(a: Attempt) -> None:
        with a.open_http(frontend) as s:
            s.sendall(a.path("GET /ok/{token} HTTP/1.1\r\nHost: localhost\r\n").encode())
            read_until_close(s, TIMEOUT_HTTP_REQUEST_MS / 1000 + 2.0)

    return run


def no_read(frontend: str, path: str) -> Action:
    """Ask for a large body and never read it: HAProxy's send blocks until
    `timeout client` (cD)."""

    def run(a: Attempt) -> None:
        s = a.open_http(frontend)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            s.sendall(a.request("GET", path))
            time.sleep(CLIENT_IDLE_PAST_TIMEOUT_S)
        finally:
            s.close()

    return run


def abort_waiting(frontend: str, path: str, after_s: float) -> Action:
    """Send a request and reset the connection before the answer comes."""

    def run(a: Attempt) -> None:
        s = a.open_http(frontend)
        s.sendall(a.request("GET", path))
        time.sleep(after_s)
        reset_and_close(s)

    return run


def queued(frontend: str, backend_path: str, hold_ms: int, queued_path: str) -> Action:
    """Occupy a maxconn-1 server, then send the request that has to queue.
    Waits until the backend saw the occupier, so the order is certain."""

    def run(a: Attempt) -> None:
        occupier_token = f"occupier-{a.token}"
        occ = a.env.ports.client_socket(socket.AF_INET, CLIENT_SOCKET_TIMEOUT_S)[0]
        try:
            occ.connect((LOOPBACK4, a.env.frontend_ports[frontend]))
            occ.sendall(a.request("GET", f"{backend_path}/{occupier_token}?ms={hold_ms}"))
            if not a.env.pool.wait_seen(occupier_token, 3.0):
                a.note = "occupier never reached the backend"
            with a.open_http(frontend) as s:
                s.sendall(a.request("GET", queued_path))
                read_until_close(s)
            read_until_close(occ)
        finally:
            occ.close()

    return run


def queue_overflow(frontend: str) -> Action:
    """maxconn 1 + maxqueue 1: one request served, one queued, then ours.
    Each step waits for HAProxy's own view (backend, admin socket)."""

    def run(a: Attempt) -> None:
        holders = []
        try:
            for i, ms in enumerate((1500, 0)):
                h = a.env.ports.client_socket(socket.AF_INET, CLIENT_SOCKET_TIMEOUT_S)[0]
                holders.append(h)
                h.connect((LOOPBACK4, a.env.frontend_ports[frontend]))
                h.sendall(a.request("GET", f"/queuefull/holder{i}-{a.token}?ms={ms}"))
                if i == 0 and not a.env.pool.wait_seen(f"holder0-{a.token}", 3.0):
                    a.note = "first holder never reached the backend"
            if not wait_server_queue(a.env, "be_queuefull", "q1", 1, 3.0):
                a.note = "second holder never queued"
            with a.open_http(frontend) as s:
                s.sendall(a.request("GET", "/queuefull/{token}"))
                read_until_close(s)
            for h in holders:
                read_until_close(h)
        finally:
            for h in holders:
                h.close()

    return run


def curl(frontend: str, path: str, *args: str, tls: bool = False, v6: bool = False) -> Action:
    def run(a: Attempt) -> None:
        a.curl(frontend, path, *args, tls=tls, v6=v6)

    return run


def tls_plaintext(frontend: str) -> Action:
    """Plain HTTP to a TLS port: `fe/1: SSL handshake failure`."""

    def run(a: Attempt) -> None:
        with a.connect(socket.AF_INET, a.env.tls_ports[frontend]) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            read_until_close(s)

    return run


def tls_silent_close(frontend: str) -> Action:
    """Connect to a TLS port and hang up without a ClientHello."""

    def run(a: Attempt) -> None:
        s = a.connect(socket.AF_INET, a.env.tls_ports[frontend])
        time.sleep(0.05)
        s.close()

    return run


def tcp_echo(name: str, *, v6: bool = False, tls: bool = False) -> Action:
    """Banner, one echo, then a clean half-close from each side: `--`."""

    def run(a: Attempt) -> None:
        with a.open_tcp(name, v6=v6, tls=tls) as s:
            s.recv(100)
            s.sendall(b"ping\n")
            s.recv(100)
            if tls:
                s = s.unwrap()  # close_notify, then a plain FIN
            s.shutdown(socket.SHUT_WR)
            read_until_close(s)

    return run


def tcp_reset_after_echo(name: str) -> Action:
    def run(a: Attempt) -> None:
        s = a.open_tcp(name)
        s.recv(100)
        s.sendall(b"ping\n")
        s.recv(100)
        reset_and_close(s)

    return run


def tcp_wait(name: str, idle_s: float = 0.0) -> Action:
    """Connect and read until HAProxy closes, sending nothing."""

    def run(a: Attempt) -> None:
        with a.open_tcp(name) as s:
            read_until_close(s, max(idle_s, 3.0))

    return run


def tcp_tls_plaintext(name: str) -> Action:
    def run(a: Attempt) -> None:
        with a.open_tcp(name) as s:
            s.sendall(b"ping\n")
            read_until_close(s)

    return run


# ---- log line checks beyond termination state and status


def retries_redispatched(message: str) -> str | None:
    # The counters block is the only `a/b/c/d/e` group followed by `x/y`.
    m = re.search(r"\d+/\d+/\d+/\d+/(\+?\d+)[ |\"]+\d+/\d+", message)
    if not m or not m.group(1).startswith("+"):
        return f"retries field {m.group(1) if m else '?'} has no `+` (no redispatch)"
    return None


def logasap_marks(message: str) -> str | None:
    f = message.split(" ")
    if not (f[4].split("/")[-1].startswith("+") and f[6].startswith("+")):
        return f"no logasap `+` on Ta/bytes: {f[4]} {f[6]}"
    return None


def contains(text: str) -> Callable[[str], str | None]:
    return lambda message: None if text in message else f"line lacks {text!r}"


# ---- cookie values for the maxidle/maxlife backend


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def cookie_date(epoch_s: float) -> str:
    """HAProxy's persistence cookie date: seconds / 4 as 5 base64 digits (s30tob64)."""
    v = int(epoch_s) >> 2
    return "".join(_B64[(v >> shift) & 63] for shift in (24, 18, 12, 6, 0))


def dated_cookie(server: str, last_ago_s: float, first_ago_s: float) -> str:
    now = time.time()
    return f"Cookie: SERVERID={server}|{cookie_date(now - last_ago_s)}|{cookie_date(now - first_ago_s)}"


def build_scenarios(ipv6: bool) -> list[Scenario]:
    S = Scenario
    ua = "User-Agent: Mozilla/5.0 (X11; Linux x86_64) halake-live"
    long_path = "/ok/{token}/" + "L" * LONG_URI_CHARS
    h = "fe_httplog"
    out = [
        # ---- fe_httplog: the whole catalogue
        S(h, "get_ok", get(h, "/ok/{token}"), "----", "200", required=True),
        S(h, "get_ok_browser_ua", get(h, "/ok/{token}?a=1&b=two", headers=[ua]), "----", "200", required=True),
        S(h, "head_ok", get(h, "/ok/{token}", method="HEAD"), "----", "200", required=True),
        S(h, "http10_ok", get(h, "/ok/{token}", version="HTTP/1.0"), "----", "200", required=True),
        S(h, "post_ok", get(h, "/ok/{token}", method="POST", body=b"p" * 2000), "----", "200", required=True),
        S(h, "keepalive_x3", keepalive(h, ["/ok/{token}/1", "/ok/{token}/2", "/ok/{token}/3"]), "----", "200",
          required=True, lines=3),
        S(h, "set_cookie_and_ctype", get(h, "/ok/{token}?setcookie=SERVERID%3Dfromapp"), "----", "200",
          required=True, line_check=contains("SERVERID=fromapp")),
        S(h, "deny", get(h, "/deny/{token}"), "PR--", "403", required=True),
        S(h, "tarpit", get(h, "/tarpit/{token}"), "PT--", "500", required=True),
        # no response at all: HAProxy logs status -1
        S(h, "silent_drop", get(h, "/silent/{token}"), "PR--", "-1", required=True),
        S(h, "reject", get(h, "/reject/{token}"), "PR--", "-1", required=True),
        S(h, "redirect", get(h, "/redir/{token}"), "LR--", "302", required=True),
        S(h, "return", get(h, "/return/{token}"), "LR--", "200", required=True),
        S(h, "stats", get(h, "/haproxy-stats"), "LR--", "200", required=True, line_check=contains("<STATS>")),
        S(h, "badreq", raw(h, b"THIS IS NOT HTTP\r\n\r\n"), "PR--", "400", required=True,
          line_check=contains('"<BADREQ>"')),
        S(h, "client_close_mid_request", raw(h, b"GET /ok/{token} HTTP/1.1\r\nHost: loc", read=False),
          "CR--", "400", required=True),
        S(h, "client_timeout_mid_request", partial_then_timeout(h), "cR--", "408", required=True),
        S(h, "client_rst_waiting_response", abort_waiting(h, "/ok/{token}?ms=600", 0.2), "CD--"),
        S(h, "client_not_reading", no_read(h, "/ok/{token}?size=4000000"), "cD--", "200"),
        S(h, "server_timeout", get(h, "/slow/{token}"), "sH--", "504", required=True),
        S(h, "server_never_answers", get(h, "/mute/{token}"), "sH--", "504", required=True),
        S(h, "server_close", get(h, "/close/{token}"), "SH--", "502", required=True),
        S(h, "server_reset", get(h, "/reset/{token}"), "SH--", "502", required=True),
        S(h, "server_reset_mid_data", get(h, "/ok/{token}?size=100000&abort_after=5000"), "SD--", "200"),
        S(h, "server_stall_mid_data", get(h, "/slow/body/{token}"), "sD--", "200"),
        S(h, "refused", get(h, "/refused/{token}"), "SC--", "503", required=True),
        S(h, "connect_timeout", get(h, "/blackhole/{token}"), "sC--", "503", required=True),
        S(h, "no_server", get(h, "/nosrv/{token}"), "SC--", "503", required=True,
          line_check=contains("be_nosrv/<NOSRV>")),
        S(h, "queue_timeout", queued(h, "/queue", 1200, "/queue/{token}"), "sQ--", "503",
          required=True, group="queue"),
        # a full server queue refuses at once, and 2.6 blames the server: SQ, not sQ
        S(h, "queue_overflow", queue_overflow(h), "SQ--", "503", required=True, group="queuefull"),
        S(h, "redispatch", get(h, "/redisp/{token}"), "----", "200", required=True,
          line_check=retries_redispatched),
        S(h, "response_denied", get(h, "/ok/{token}?hdr=X-Deny:%201"), "PH--", "502", required=True),
        S(h, "bad_status_line", get(h, "/ok/{token}?badstatus=1"), "PH--", "502", required=True),
        S(h, "ck_none", get(h, "/ck/{token}"), "--NI", "200", required=True),
        # dates are (now - seconds ago); a last-seen date a minute ahead is "fresh"
        S(h, "ck_valid", get(h, "/ck/{token}", headers=[dated_cookie("s1", -60, 60)]), "--VN", "200",
          required=True),
        S(h, "ck_valid_nodate", get(h, "/ck/{token}", headers=["Cookie: SERVERID=s1"]), "--VU", "200",
          required=True),
        S(h, "ck_invalid", get(h, "/ck/{token}", headers=["Cookie: SERVERID=nope"]), "--II", "200",
          required=True),
        S(h, "ck_down_server", get(h, "/ck/{token}", headers=["Cookie: SERVERID=s3"]), "--DI", "200",
          required=True),
        S(h, "ck_expired_maxidle", get(h, "/ck/{token}", headers=[dated_cookie("s1", 600, 700)]), "--EI", "200",
          required=True),
        S(h, "ck_too_old_maxlife", get(h, "/ck/{token}", headers=[dated_cookie("s1", -60, 7200)]), "--OI",
          "200", required=True),
        S(h, "ck_unused_use_server", get(h, "/ck/force/{token}", headers=[dated_cookie("s1", -60, 60)]), "--UN", "200",
          required=True),
        S(h, "h2c_prior_knowledge", curl(h, "/ok/{token}", "--http2-prior-knowledge"), "----", "200",
          required=True, line_check=contains("HTTP/2.0")),
        S(h, "long_uri", get(h, long_path), "----", "200", required=True),
    ]
    if ipv6:
        out += [
            S(h, "ipv6_get_ok", get(h, "/ok/{token}", v6=True), "----", "200", required=True,
              line_check=contains("::1:")),
            S(h, "ipv6_deny", get(h, "/deny/{token}", v6=True), "PR--", "403", required=True),
            S(h, "ipv6_h2c", curl(h, "/ok/{token}", "--http2-prior-knowledge", v6=True), "----", "200",
              required=True),
        ]

    hs = "fe_httpslog"
    out += [
        S(hs, "tls_get_ok", get(hs, "/ok/{token}", tls=True), "----", "200", required=True,
          line_check=contains("TLSv1.3")),
        S(hs, "h2_get_ok", curl(hs, "/ok/{token}", "--http2", tls=True), "----", "200", required=True,
          line_check=contains("HTTP/2.0")),
        S(hs, "h2_deny", curl(hs, "/deny/{token}", "--http2", tls=True), "PR--", "403", required=True),
        S(hs, "h2_server_timeout", curl(hs, "/slow/{token}", "--http2", tls=True), "sH--", "504", required=True),
        S(hs, "tls12_get_ok", curl(hs, "/ok/{token}", "--http1.1", "--tlsv1.2", "--tls-max", "1.2", tls=True),
          "----", "200", required=True, line_check=contains("TLSv1.2")),
        S(hs, "tls_handshake_failure", tls_plaintext(hs), "-", required=True,
          line_check=contains("SSL handshake failure")),
        S(hs, "tls_closed_in_handshake", tls_silent_close(hs), "-"),
    ]
    if ipv6:
        out.append(S(hs, "ipv6_h2_get_ok", curl(hs, "/ok/{token}", "--http2", tls=True, v6=True), "----", "200",
                     required=True))

    c = "fe_clf"
    out += [
        S(c, "get_ok", get(c, "/ok/{token}?q=1", headers=[ua]), "----", "200", required=True),
        S(c, "deny", get(c, "/deny/{token}"), "PR--", "403", required=True),
        S(c, "badreq", raw(c, b"THIS IS NOT HTTP\r\n\r\n"), "PR--", "400", required=True),
        S(c, "refused", get(c, "/refused/{token}"), "SC--", "503", required=True),
        S(c, "server_timeout", get(c, "/slow/{token}"), "sH--", "504", required=True),
        S(c, "ck_none", get(c, "/ck/{token}"), "--NI", "200", required=True),
    ]
    if ipv6:
        out.append(S(c, "ipv6_get_ok", get(c, "/ok/{token}", v6=True), "----", "200", required=True))

    c1 = "fe_custom1"
    out += [
        S(c1, "get_ok", get(c1, "/ok/{token}?x=1", headers=[ua]), "----", "200", required=True),
        S(c1, "post_ok", get(c1, "/ok/{token}", method="POST", body=b"u" * 1234), "----", "200", required=True),
        S(c1, "deny", get(c1, "/deny/{token}"), "PR--", "403", required=True),
        S(c1, "server_close", get(c1, "/close/{token}"), "SH--", "502", required=True),
        S(c1, "badreq", raw(c1, b"THIS IS NOT HTTP\r\n\r\n"), "PR--", "400", required=True),
        S(c1, "tls_get_ok", get(c1, "/ok/{token}", tls=True), "----", "200", required=True,
          line_check=contains("TLSv1.3")),
        S(c1, "h2_get_ok", curl(c1, "/ok/{token}", "--http2", tls=True), "----", "200", required=True,
          line_check=contains("HTTP/2.0")),
        S(c1, "ck_valid_nodate", get(c1, "/ck/{token}", headers=["Cookie: SERVERID=s2"]), "--VU", "200",
          required=True),
    ]
    if ipv6:
        out.append(S(c1, "ipv6_get_ok", get(c1, "/ok/{token}", v6=True), "----", "200", required=True))

    c2 = "fe_custom2"
    out += [
        S(c2, "get_ok", get(c2, "/ok/{token}?q=a%20b&r=2", headers=[ua]), "----", "200", required=True),
        S(c2, "get_no_query", get(c2, "/ok/{token}"), "----", "200", required=True),
        S(c2, "deny", get(c2, "/deny/{token}"), "PR--", "403", required=True),
        S(c2, "redirect", get(c2, "/redir/{token}"), "LR--", "302", required=True),
        S(c2, "server_timeout", get(c2, "/slow/{token}"), "sH--", "504", required=True),
        S(c2, "badreq", raw(c2, b"THIS IS NOT HTTP\r\n\r\n"), "PR--", "400", required=True),
        S(c2, "redispatch", get(c2, "/redisp/{token}"), "----", "200", required=True),
    ]

    la = "fe_logasap"
    out += [
        S(la, "get_big", get(la, "/ok/{token}?size=200000"), "----", "200", required=True,
          line_check=logasap_marks),
        S(la, "get_slow_body", get(la, "/ok/{token}?ms=100"), "----", "200", required=True,
          line_check=logasap_marks),
        S(la, "deny", get(la, "/deny/{token}"), "PR--", "403", required=True),
        S(la, "server_timeout", get(la, "/slow/{token}"), "sH--", "504", required=True),
    ]

    sl = "fe_shortlen"
    out += [
        S(sl, "get_ok", get(sl, "/ok/{token}"), "----", "200", required=True),
        S(sl, "long_uri", get(sl, long_path), "----", "200", required=True),
        S(sl, "long_uri_deny", get(sl, "/deny/{token}/" + "D" * LONG_URI_CHARS), "PR--", "403", required=True),
    ]

    u = "fe_unix"
    out += [
        S(u, "get_ok", get(u, "/ok/{token}"), "----", "200", required=True),
        S(u, "curl_get_ok", curl(u, "/ok/{token}"), "----", "200", required=True),
        S(u, "deny", get(u, "/deny/{token}"), "PR--", "403", required=True),
        S(u, "server_timeout", get(u, "/slow/{token}"), "sH--", "504", required=True),
        S(u, "keepalive_x2", keepalive(u, ["/ok/{token}", "/ok/{token}?again=1"]), "----", "200",
          required=True, lines=2),
    ]

    t = "fe_tcplog"
    out += [
        S(t, "tcp_ok", tcp_echo("ok"), "--", "-", required=True),
        S(t, "tcp_client_reset", tcp_reset_after_echo("ok"), "CD", "-", required=True),
        S(t, "tcp_server_timeout", tcp_wait("short"), "sD", "-", required=True),
        S(t, "tcp_client_timeout", tcp_wait("long", CLIENT_IDLE_PAST_TIMEOUT_S), "cD", "-", required=True),
        S(t, "tcp_refused", tcp_wait("refused"), "SC", "-", required=True),
        S(t, "tcp_connect_timeout", tcp_wait("blackhole"), "sC", "-", required=True),
        S(t, "tcp_reject", tcp_wait("reject"), "PR", "-", required=True),
        S(t, "tcp_tls_ok", tcp_echo("tls", tls=True), "--", "-", required=True),
        S(t, "tcp_tls_handshake_failure", tcp_tls_plaintext("tls"), "-", required=True,
          line_check=contains("SSL handshake failure")),
    ]
    if ipv6:
        out.append(S(t, "tcp_ipv6_ok", tcp_echo("ok", v6=True), "--", "-", required=True,
                     line_check=contains("::1:")))
    return out


# ------------------------------------------------------------------ running


def run_groups(scenarios: list[Scenario], env: Environment, attempt_no: int) -> None:
    """Run scenarios concurrently; members of one group run in order.
    Workers are daemon threads, so a stuck client can never block exit."""
    groups: dict[str, list[Scenario]] = {}
    for sc in scenarios:
        groups.setdefault(sc.group or f"solo:{sc.frontend}:{sc.name}", []).append(sc)
    work: queue.Queue = queue.Queue()
    for members in groups.values():
        work.put(members)

    def worker() -> None:
        while True:
            try:
                members = work.get_nowait()
            except queue.Empty:
                return
            for sc in members:
                run_attempt(sc, env, attempt_no)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(min(WORKERS, len(groups)))]
    for th in threads:
        th.start()
    end = time.monotonic() + SCENARIO_DEADLINE_S * 3
    for th in threads:
        th.join(max(0.0, end - time.monotonic()))


def run_attempt(sc: Scenario, env: Environment, number: int) -> None:
    a = Attempt(env, sc, number)
    sc.attempts.append(a)
    try:
        sc.action(a)
    except (OSError, ssl.SSLError, ConnectionError, subprocess.SubprocessError) as e:
        # Many scenarios make the other side hang up; only the log decides.
        a.note = a.note or f"{type(e).__name__}: {e}"


class LogIndex:
    """Log records by frontend, rebuilt from the receivers on demand."""

    def __init__(self, receivers: dict[str, SyslogReceiver]):
        self.receivers = receivers
        self.records: dict[str, list[LogRecord]] = {}

    def refresh(self) -> None:
        for fe in FRONTENDS:
            msgs = (syslog_message(d.decode("utf-8", "replace").rstrip("\n")) for d in self.receivers[fe].datagrams())
            self.records[fe] = [read_record(FRONTEND_SHAPES[fe], m) for m in msgs]

    def lookup(self, frontend: str, key_kind: str, key: str) -> list[LogRecord]:
        if not key:
            return []
        recs = self.records.get(frontend, [])
        if key_kind == "client_port":
            return [r for r in recs if r.kind != "other" and r.client_port == key]
        token = re.compile(re.escape("/" + key) + r'(?=[/? "]|$)')
        return [r for r in recs if r.kind == "traffic" and token.search(r.message)]


def judge(sc: Scenario, index: LogIndex) -> None:
    """Compare the last attempt's log lines with what the scenario expects."""
    a = sc.attempts[-1]
    sc.records = index.lookup(sc.frontend, a.key_kind, a.key)
    if not sc.records:
        sc.problem = "no log line" + (f" ({a.note})" if a.note else "")
        return
    problems = []
    if len(sc.records) != sc.lines:
        problems.append(f"{len(sc.records)} lines, expected {sc.lines}")
    for r in sc.records:
        if r.kind != sc.expected_kind:
            problems.append(f"a {r.kind} line, expected {sc.expected_kind}")
        elif r.termination != sc.expected:
            problems.append(f"termination {r.termination}, expected {sc.expected}")
        elif sc.status is not None and r.status != sc.status:
            problems.append(f"status {r.status}, expected {sc.status}")
        elif sc.line_check and (p := sc.line_check(r.message)):
            problems.append(p)
    sc.problem = "; ".join(dict.fromkeys(problems))


def wait_for_lines(scenarios: list[Scenario], index: LogIndex, deadline_s: float) -> None:
    """Until each scenario has its lines (or the deadline), then judge all."""
    end = time.monotonic() + deadline_s
    while True:
        index.refresh()
        missing = [sc for sc in scenarios
                   if len(index.lookup(sc.frontend, sc.attempts[-1].key_kind, sc.attempts[-1].key)) < sc.lines]
        if not missing or time.monotonic() > end:
            break
        time.sleep(0.1)
    for sc in scenarios:
        judge(sc, index)


# ------------------------------------------------------------------- output


def write_manifest(path: str, scenarios: list[Scenario]) -> None:
    header = ["frontend", "scenario", "key_kind", "key", "expected", "observed_termination",
              "observed_status", "required", "attempts"]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\t".join(header) + "\n")
        for sc in sorted(scenarios, key=lambda s: (s.frontend, s.name)):
            a = sc.attempts[-1]
            terms = list(dict.fromkeys(r.termination for r in sc.records)) or ["-"]
            statuses = list(dict.fromkeys(r.status for r in sc.records)) or ["-"]
            row = [sc.frontend, sc.name, a.key_kind or "-", a.key or "-", sc.expected, ",".join(terms),
                   ",".join(statuses), "true" if sc.required else "false", str(len(sc.attempts))]
            f.write("\t".join(row) + "\n")


def print_summary(scenarios: list[Scenario], counts: dict[str, int], elapsed_s: float) -> None:
    retried = sum(1 for sc in scenarios if len(sc.attempts) > 1)
    print(f"harness: {len(scenarios)} scenarios ({sum(sc.required for sc in scenarios)} required, "
          f"{retried} retried) in {elapsed_s:.1f}s")
    print("harness: lines received: " + ", ".join(f"{name}={n}" for name, n in counts.items()))
    mismatches = [sc for sc in scenarios if sc.problem]
    for sc in mismatches:
        tag = "REQUIRED" if sc.required else "recorded"
        print(f"harness: mismatch [{tag}] {sc.frontend}/{sc.name}: {sc.problem}")
    if not mismatches:
        print("harness: every scenario logged what it expected")


# --------------------------------------------------------------------- main


def _interrupt(signum: int, frame: object) -> None:
    # SIGTERM takes the same way out as Ctrl-C, so every `finally` runs.
    raise KeyboardInterrupt


def prepare_outdir(outdir: str) -> tuple[str, str]:
    outdir = os.path.abspath(outdir)
    os.makedirs(outdir, exist_ok=True)
    # Only our own names: a manifest left by an earlier run must not survive
    # a run that fails before writing its own.
    for name in ("scenarios.tsv", "haproxy.cfg", "haproxy.stderr"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(outdir, name))
    for sub in ("logs", "run"):
        shutil.rmtree(os.path.join(outdir, sub), ignore_errors=True)
        os.makedirs(os.path.join(outdir, sub))
    return outdir, os.path.join(outdir, "run")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: harness.py OUTDIR", file=sys.stderr)
        return 2
    started = time.monotonic()
    signal.signal(signal.SIGTERM, _interrupt)
    # A shell without job control starts background jobs with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    tools = ensure_tools()
    outdir, run_dir = prepare_outdir(argv[1])
    unix_socket = os.path.join(run_dir, "fe.sock")
    admin_socket = os.path.join(run_dir, "admin.sock")
    if len(admin_socket.encode()) >= 100:
        raise HarnessError(f"OUTDIR path too long for a unix socket: {unix_socket}")

    ipv6 = ipv6_loopback_available()
    if not ipv6:
        print("harness: no IPv6 loopback here; IPv6 binds and scenarios are skipped")
    receivers = {name: SyslogReceiver(name) for name in FRONTENDS + ["global"]}
    pool = BackendPool()
    env = Environment(
        outdir=outdir, run_dir=run_dir, cert=make_certificate(tools["openssl"], run_dir),
        unix_socket=unix_socket, admin_socket=admin_socket, ipv6=ipv6,
        ports=PortRegistry(ipv6), pool=pool, receivers=receivers, curl=tools["curl"],
    )
    proc = None
    try:
        allocate_backends(env)
        proc = launch_haproxy(tools["haproxy"], env)  # before any thread exists
        for r in receivers.values():
            r.start()
        pool.start()

        scenarios = build_scenarios(ipv6)
        index = LogIndex(receivers)
        run_groups(scenarios, env, 1)
        wait_for_lines(scenarios, index, LINES_DEADLINE_S)
        again = [sc for sc in scenarios if sc.problem]
        if again:
            run_groups(again, env, 2)
            wait_for_lines(again, index, LINES_DEADLINE_S)

        stop_haproxy(proc)
        time.sleep(0.3)  # the last datagrams may still be in flight
        index.refresh()
        for sc in scenarios:
            judge(sc, index)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        pool.close()
        for r in receivers.values():
            r.stop()

    counts = {f"{name}.syslog.log": r.write(os.path.join(outdir, "logs", f"{name}.syslog.log"))
              for name, r in receivers.items()}
    with open(os.path.join(outdir, "logs", "stdout.log"), "rb") as f:
        counts["stdout.log"] = f.read().count(b"\n")
    write_manifest(os.path.join(outdir, "scenarios.tsv"), scenarios)
    print_summary(scenarios, counts, time.monotonic() - started)

    failed = [sc for sc in scenarios if sc.required and sc.problem]
    if failed:
        print(f"harness: FAILED: {len(failed)} required scenario(s) did not log what they must:", file=sys.stderr)
        for sc in failed:
            line = sc.records[0].message[:300] if sc.records else "(no line)"
            print(f"  {sc.frontend}/{sc.name} key {sc.attempts[-1].key}: {sc.problem}\n    {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except HarnessError as e:
        print(f"harness: error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        sys.exit(130)
