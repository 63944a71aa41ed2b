// The setup log before Nginx (issue 13, setup-log-contract.ts): a small Python 3 stdlib HTTPS server on
// port 443 with the deployment's own certificate, serving only GET /dictumal/setup-log to requests that
// carry the deployment's log key. It runs from the moment the setup script starts until Nginx takes
// 443 over (configure-https), and again after a reboot while Nginx has not (bootcmd). Python 3 is on
// every Ubuntu cloud image; nothing is installed for it.
import { SECRET_PATTERNS } from '../deployment-secrets'
import { SETUP_LOG_PATH } from '../setup-log-contract'
import { DROPLET_PATHS } from './paths'

export const SETUP_LOG_SERVICE = 'dictumal-setup-log'

/**
 * The server's unit, never enabled: the setup script starts it, and bootcmd again after a reboot while
 * Nginx does not own 443 yet. Least privilege: a dynamic user with no home, a read-only system and only
 * the right to bind 443. The key, certificate and TLS key reach it as systemd credentials (copies only
 * this unit can read); the log itself through the www-data group, as Nginx reads it later.
 * DefaultDependencies=no because bootcmd runs before sysinit.target, which it would otherwise wait for.
 * It faces the internet (during setup, and on a failed droplet until it is destroyed), so its threads
 * and memory are capped too: the script itself holds at most 32 connections (33 threads), and whatever
 * goes wrong in it cannot take more than 64 tasks or 64 MiB from the desktop being set up.
 */
export function setupLogServerUnit(): string {
  const p = DROPLET_PATHS
  return `[Unit]
Description=Dictumal setup log over HTTPS, until Nginx serves it
DefaultDependencies=no

[Service]
ExecStart=/usr/bin/python3 -I ${p.setupLogServer}
DynamicUser=yes
SupplementaryGroups=www-data
LoadCredential=log-key:${p.logKey}
LoadCredential=cert.pem:${p.certPem}
LoadCredential=key.pem:${p.keyPem}
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
ProtectHome=yes
PrivateDevices=yes
TasksMax=64
MemoryMax=64M
`
}

/** The Bearer header Nginx requires (an included, root-only file); everything else gets its plain 404. */
export function nginxSetupLogAuth(logKey: string): string {
  if (!SECRET_PATTERNS.logKey.test(logKey)) throw new Error('the log key must be 64 lowercase hex characters')
  return `if ($http_authorization != "Bearer ${logKey}") {\n    return 404;\n}\n`
}

/** What Nginx includes when the deployment has no log key (made before keys existed): always 404. */
export const NGINX_SETUP_LOG_CLOSED = 'return 404;'

/**
 * /usr/local/lib/dictumal/setup-log-server. Reads its key and certificate from $CREDENTIALS_DIRECTORY
 * (systemd's LoadCredential=). DICTUMAL_SETUP_LOG, DICTUMAL_BIND and DICTUMAL_PORT (0: any free port,
 * printed on stdout) exist so tests can run it unprivileged on loopback; DICTUMAL_REQUEST_SECONDS and
 * DICTUMAL_BODY_SECONDS so they can watch its deadlines without waiting for the real ones.
 *
 * Open to anyone who can reach 443, it bounds what one client can hold: at most 32 connections at
 * once (more are closed at once), and each connection has one deadline, not a per-read timeout a
 * client can renew byte by byte: REQUEST_SECONDS from accept for the TLS handshake and the request
 * headers, then BODY_SECONDS for the answer (a slow link may need long for 64 KiB, but not forever),
 * then REQUEST_SECONDS again for a next request on the same connection.
 */
export function setupLogServerScript(): string {
  return `#!/usr/bin/python3
# Dictumal setup log server: GET ${SETUP_LOG_PATH} over HTTPS with "Authorization: Bearer <log key>"
# answers the log (a suffix Range "bytes=-N" gives its last N bytes); anything else is 404.
import hmac
import io
import os
import re
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 65536
REQUEST_SECONDS = float(os.environ.get("DICTUMAL_REQUEST_SECONDS", "20"))
BODY_SECONDS = float(os.environ.get("DICTUMAL_BODY_SECONDS", "120"))
SLOTS = threading.BoundedSemaphore(32)


def credential(name):
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if not directory:
        sys.exit("setup-log-server: no CREDENTIALS_DIRECTORY (run it with LoadCredential=)")
    return os.path.join(directory, name)


with open(credential("log-key"), encoding="ascii") as key_file:
    KEY = key_file.read().strip()
if not re.fullmatch("[0-9a-f]{64}", KEY):
    sys.exit("setup-log-server: the log key is malformed")
EXPECTED = ("Bearer " + KEY).encode("ascii")
LOG = os.environ.get("DICTUMAL_SETUP_LOG", "${DROPLET_PATHS.log}")
TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
TLS.minimum_version = ssl.TLSVersion.TLSv1_2
TLS.load_cert_chain(credential("cert.pem"), credential("key.pem"))


# N of "bytes=-N"; None (the whole log) for anything else
def suffix_length(header):
    if header is None or not header.startswith("bytes=-"):
        return None
    digits = header[len("bytes=-"):].strip()
    # ASCII only: str.isdigit() takes "²", int() does not
    if not re.fullmatch(r"[0-9]{1,18}", digits) or int(digits) == 0:
        return None
    return int(digits)


# I/O gets what is left of the deadline (a timeout alone restarts with each byte)
class Deadlined(io.RawIOBase):
    def __init__(self, handler):
        self.handler = handler

    def readable(self):
        return True

    def sock(self):
        left = self.handler.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        self.handler.connection.settimeout(left)
        return self.handler.connection

    def readinto(self, buffer):
        return self.sock().recv_into(buffer)

    def write(self, data):
        self.sock().sendall(data)
        return len(data)


class Handler(BaseHTTPRequestHandler):
    server_version = "dictumal"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def __init__(self, request, client_address, server, deadline):
        self.deadline = deadline
        super().__init__(request, client_address, server)

    def setup(self):
        self.connection = self.request
        self.rfile = io.BufferedReader(Deadlined(self))
        self.wfile = Deadlined(self)

    def log_message(self, format, *args):
        pass  # nothing per request: the journal stays quiet

    def not_found(self):
        self.send_response(404)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", "10")
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(b"Not found\\n")
        self.close_connection = True

    def authorized(self):
        given = self.headers.get("Authorization", "").encode("utf-8", "replace")
        return hmac.compare_digest(given, EXPECTED)

    def do_GET(self):
        self.deadline = time.monotonic() + BODY_SECONDS
        try:
            self.answer()
        finally:
            self.deadline = time.monotonic() + REQUEST_SECONDS

    def answer(self):
        if self.path.split("?", 1)[0] != "${SETUP_LOG_PATH}" or not self.authorized():
            return self.not_found()
        try:
            log = open(LOG, "rb")
        except OSError:
            return self.not_found()
        with log:
            size = os.fstat(log.fileno()).st_size
            wanted = suffix_length(self.headers.get("Range"))
            start = 0 if wanted is None or size == 0 else max(0, size - wanted)
            length = size - start
            self.send_response(200 if wanted is None or size == 0 else 206)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(length))
            if wanted is not None and size > 0:
                self.send_header("Content-Range", "bytes %d-%d/%d" % (start, size - 1, size))
            self.end_headers()
            if self.command == "HEAD":
                return
            log.seek(start)
            while length > 0:
                chunk = log.read(min(CHUNK, length))
                if not chunk:
                    break
                self.wfile.write(chunk)
                length -= len(chunk)

    do_HEAD = do_GET
    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = not_found


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def server_bind(self):
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()

    def process_request(self, request, client_address):
        if SLOTS.acquire(blocking=False):
            deadline = time.monotonic() + REQUEST_SECONDS
            try:
                return threading.Thread(target=self.serve_connection, args=(request, client_address, deadline), daemon=True).start()
            except RuntimeError:
                SLOTS.release()
        self.shutdown_request(request)  # no slot (or thread) free: closed at once

    def serve_connection(self, request, client_address, deadline):
        # Python bounds a whole TLS handshake by the timeout
        try:
            request.settimeout(max(0.001, deadline - time.monotonic()))
            with TLS.wrap_socket(request, server_side=True) as tls:
                self.RequestHandlerClass(tls, client_address, self, deadline)
        except Exception:
            pass  # a failed handshake, a dropped client, a passed deadline: not news
        finally:
            self.shutdown_request(request)
            SLOTS.release()


def serve():
    port = int(os.environ.get("DICTUMAL_PORT", "443"))
    bind = os.environ.get("DICTUMAL_BIND")
    if bind is None:
        try:
            Server.address_family = socket.AF_INET6
            httpd = Server(("::", port), Handler)
        except OSError:
            Server.address_family = socket.AF_INET
            httpd = Server(("0.0.0.0", port), Handler)
    else:
        Server.address_family = socket.AF_INET6 if ":" in bind else socket.AF_INET
        httpd = Server((bind, port), Handler)
    print("listening on port %d" % httpd.server_address[1], flush=True)
    httpd.serve_forever()


serve()
`
}
