# Stand-in for the guacamole/guacamole:1.6.0 image with host networking. Like the image's entrypoint,
# it generates a fresh CATALINA_BASE (under the container's own folder) with Tomcat's stock server.xml,
# sources the entrypoint.d hooks mounted into /opt/guacamole/entrypoint.d/ (before or after the
# CATALINA_BASE step by name, as the image orders them; xmlstarlet is on their PATH as in the image),
# then serves what that server.xml says: the 8080 Connector's address (every address unless a hook set
# one) and, while the stock AccessLogValve is there, an access log of full request lines, query string
# included (logs/localhost_access_log.YYYY-MM-DD.txt). The image has no variable for either: a hook or a
# server.xml of your own is the only knob. JSON auth (guacamole-auth-json) is on when JSON_SECRET_KEY is
# set: POST api/tokens with form field data=base64(AES-128-CBC(HMAC-SHA256(key, json) || json), zero IV)
# gives {authToken, ...} or 403; `expires` (epoch ms) and top-level `singleUse` are honoured; DELETE
# api/session with the Guacamole-Token header ends a session.
import base64
import hashlib
import hmac
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import glob
import shutil
import tempfile
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SERVER_XML = '/usr/local/tomcat/conf/server.xml'
HOOK_DIR = '/opt/guacamole/entrypoint.d/'
CATALINA_STEP = '500-generate-tomcat-catalina-base.sh'
IMAGE_BIN = os.environ.get('STANDIN_IMAGE_BIN', '/usr/lib/docker-standin/image-bin')

# Tomcat 9's stock conf/server.xml, reduced to what matters here (the image copies it into CATALINA_BASE).
STOCK_SERVER_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Server port="8005" shutdown="SHUTDOWN">
  <Listener className="org.apache.catalina.startup.VersionLoggerListener" />
  <Service name="Catalina">
    <Connector port="8080" protocol="HTTP/1.1" connectionTimeout="20000" redirectPort="8443" />
    <Engine name="Catalina" defaultHost="localhost">
      <Host name="localhost" appBase="webapps" unpackWARs="true" autoDeploy="true">
        <Valve className="org.apache.catalina.valves.AccessLogValve" directory="logs"
               prefix="localhost_access_log" suffix=".txt" pattern="%h %l %u %t &quot;%r&quot; %s %b" />
      </Host>
    </Engine>
  </Service>
</Server>
"""


class TokenRejected(Exception):
    pass


def aes_decrypt(key_hex, data):
    """AES-128-CBC with a zero IV and PKCS#7 padding, through the openssl CLI (no Python crypto module)."""
    result = subprocess.run(
        ['openssl', 'enc', '-d', '-aes-128-cbc', '-K', key_hex, '-iv', '0' * 32, '-nosalt'],
        input=data, capture_output=True,
    )
    if result.returncode != 0:
        raise TokenRejected('not encrypted with this key')
    return result.stdout


def verify(token, key_hex, now_ms):
    """Returns the payload of a valid JSON-auth token, as guacamole-auth-json 1.6 checks it; raises TokenRejected."""
    if not key_hex:
        raise TokenRejected('JSON auth is not configured')
    try:
        raw = base64.b64decode(token, validate=True)
    except (ValueError, TypeError):
        raise TokenRejected('not base64')
    if len(raw) == 0 or len(raw) % 16 != 0:
        raise TokenRejected('not a whole number of AES blocks')
    plain = aes_decrypt(key_hex, raw)
    if len(plain) <= 32:
        raise TokenRejected('too short')
    signature, body = plain[:32], plain[32:]
    expected = hmac.new(bytes.fromhex(key_hex), body, hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise TokenRejected('bad signature')
    try:
        payload = json.loads(body.decode('utf-8'))
    except (UnicodeDecodeError, ValueError):
        raise TokenRejected('not JSON')
    if not isinstance(payload, dict) or not isinstance(payload.get('username'), str):
        raise TokenRejected('no username')
    expires = payload.get('expires')
    if expires is not None and (not isinstance(expires, int) or expires < now_ms):
        raise TokenRejected('expired')
    if payload.get('singleUse') is True and expires is None:
        raise TokenRejected('singleUse needs expires')
    return payload


def run_hooks(hooks, env):
    for hook in hooks:
        result = subprocess.run(['bash', '-c', 'set -e; source "$1"', 'entrypoint', hook], env=env)
        if result.returncode != 0:
            sys.stderr.write('entrypoint hook %s failed with exit code %d\n' % (hook, result.returncode))
            sys.exit(result.returncode)


def entrypoint(env):
    """Does what the image's entrypoint does before Tomcat starts; returns the CATALINA_BASE it made."""
    root = env.get('STANDIN_ROOT', '/tmp')
    volumes = json.loads(env.get('STANDIN_VOLUMES', '[]'))
    hooks = sorted((v.split(':')[1], v.split(':')[0]) for v in volumes if len(v.split(':')) >= 2 and v.split(':')[1].startswith(HOOK_DIR))
    custom_xml = [v.split(':')[0] for v in volumes if len(v.split(':')) >= 2 and v.split(':')[1] == SERVER_XML]
    hook_env = dict(env)
    hook_env['PATH'] = IMAGE_BIN + ':' + env.get('PATH', '/usr/bin:/bin')
    run_hooks([host for target, host in hooks if target[len(HOOK_DIR):] < CATALINA_STEP], hook_env)
    os.makedirs(os.path.join(root, 'tmp'), exist_ok=True)
    for old in glob.glob(os.path.join(root, 'tmp', 'catalina-base.*')):
        shutil.rmtree(old, ignore_errors=True)
    base = tempfile.mkdtemp(prefix='catalina-base.', dir=os.path.join(root, 'tmp'))
    for d in ('logs', 'temp', 'webapps', 'work', 'conf'):
        os.makedirs(os.path.join(base, d), exist_ok=True)
    if custom_xml:
        shutil.copyfile(custom_xml[0], os.path.join(base, 'conf', 'server.xml'))
    else:
        with open(os.path.join(base, 'conf', 'server.xml'), 'w') as f:
            f.write(STOCK_SERVER_XML)
    hook_env['CATALINA_BASE'] = base
    run_hooks([host for target, host in hooks if target[len(HOOK_DIR):] > CATALINA_STEP], hook_env)
    return base


def tomcat_settings(base):
    """(address, access-log path or None) from CATALINA_BASE/conf/server.xml, as Tomcat would read them."""
    root = ET.parse(os.path.join(base, 'conf', 'server.xml')).getroot()
    connector = next((c for c in root.iter('Connector') if c.get('port') == '8080'), None)
    if connector is None:
        sys.stderr.write('server.xml has no Connector on port 8080\n')
        sys.exit(1)
    address = connector.get('address', '0.0.0.0')
    valve = next((v for v in root.iter('Valve') if v.get('className') == 'org.apache.catalina.valves.AccessLogValve'), None)
    log = None if valve is None else os.path.join(base, valve.get('directory', 'logs'), valve.get('prefix', 'access_log') + '.%s' + valve.get('suffix', ''))
    return address, log


class Gateway:
    def __init__(self, env):
        self.key = env.get('JSON_SECRET_KEY', '').strip()
        self.context = '/' + env.get('WEBAPP_CONTEXT', 'guacamole').strip('/')
        self.remote_ip_valve = env.get('REMOTE_IP_VALVE_ENABLED', '') == 'true'
        self.sessions = {}
        self.used = set()
        self.lock = threading.Lock()
        self.address, self.log_path = tomcat_settings(entrypoint(env))

    def log_request(self, client, line, status, size):
        if self.log_path is None:
            return
        stamp = time.strftime('%d/%b/%Y:%H:%M:%S +0000', time.gmtime())
        path = self.log_path % time.strftime('%Y-%m-%d', time.gmtime())
        with self.lock, open(path, 'a') as f:
            f.write('%s - - [%s] "%s" %d %s\n' % (client, stamp, line, status, size if size else '-'))

    def login(self, token):
        payload = verify(token, self.key, int(time.time() * 1000))
        with self.lock:
            if payload.get('singleUse') is True:
                digest = hashlib.sha256(token.encode()).hexdigest()
                if digest in self.used:
                    raise TokenRejected('already used')
                self.used.add(digest)
            auth = secrets.token_hex(32).upper()
            self.sessions[auth] = payload['username']
        return {'authToken': auth, 'username': payload['username'], 'dataSource': 'json', 'availableDataSources': ['json']}

    def logout(self, auth):
        with self.lock:
            return self.sessions.pop(auth, None) is not None

    def valid(self, auth):
        with self.lock:
            return auth in self.sessions


DENIED = {'message': 'Permission Denied.', 'translatableMessage': {'key': 'APP.TEXT_UNTRANSLATED', 'variables': {}},
          'statusCode': None, 'expected': None, 'type': 'INVALID_CREDENTIALS'}

PAGE = b'<!DOCTYPE html>\n<html><head><title>Guacamole</title></head><body ng-app="index">' \
       b'<!-- Apache Guacamole 1.6.0 (rehearsal stand-in) --></body></html>\n'


def handler_for(gateway):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'
        server_version = ''
        sys_version = ''

        def log_message(self, *args):
            pass

        def client(self):
            forwarded = self.headers.get('X-Forwarded-For')
            if gateway.remote_ip_valve and forwarded and self.client_address[0].startswith('127.'):
                return forwarded.split(',')[-1].strip()
            return self.client_address[0]

        def send(self, status, body=b'', content_type='application/json', headers=None):
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
            self.send_response(status)
            self.send_header('Content-Type', content_type)
            self.send_header('Content-Length', str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != 'HEAD':
                self.wfile.write(body)
            gateway.log_request(self.client(), self.requestline, status, len(body))

        def body(self):
            length = int(self.headers.get('Content-Length') or 0)
            return self.rfile.read(length) if length > 0 else b''

        def route(self):
            path = urlsplit(self.path).path
            ctx = gateway.context
            if path == ctx:
                return self.send(302, b'', 'text/html', {'Location': ctx + '/'})
            if not path.startswith(ctx + '/'):
                return self.send(404, b'<h1>HTTP Status 404 - Not Found</h1>', 'text/html')
            sub = path[len(ctx):]
            if sub in ('/', '/index.html') and self.command in ('GET', 'HEAD'):
                return self.send(200, PAGE, 'text/html;charset=UTF-8')
            if sub == '/api/tokens' and self.command == 'POST':
                form = parse_qs(self.body().decode('utf-8', 'replace'))
                data = form.get('data', [''])[0]
                try:
                    return self.send(200, gateway.login(data))
                except TokenRejected as e:
                    sys.stderr.write('WARN: authentication attempt from %s failed: %s\n' % (self.client(), e))
                    return self.send(403, DENIED)
            if sub == '/api/session':
                auth = self.headers.get('Guacamole-Token', '')
                if self.command == 'DELETE':
                    return self.send(204) if gateway.logout(auth) else self.send(403, DENIED)
                if self.command in ('GET', 'HEAD'):
                    return self.send(200, {}) if gateway.valid(auth) else self.send(403, DENIED)
            return self.send(404, b'<h1>HTTP Status 404 - Not Found</h1>', 'text/html')

        do_GET = do_POST = do_DELETE = do_HEAD = do_PUT = route

    return Handler


def main():
    gateway = Gateway(os.environ)
    server = ThreadingHTTPServer((gateway.address, 8080), handler_for(gateway))
    server.daemon_threads = True
    sys.stderr.write('INFO: Starting ProtocolHandler ["http-nio-%s-8080"] (rehearsal stand-in, JSON auth %s, access log %s)\n'
                     % (gateway.address, 'on' if gateway.key else 'off', gateway.log_path or 'off'))
    server.serve_forever()


if __name__ == '__main__':
    if len(sys.argv) == 4 and sys.argv[1] == '--verify':
        # Test hook: --verify TOKEN NOW_MS, key from JSON_SECRET_KEY; prints the payload or the reason.
        try:
            print(json.dumps(verify(sys.argv[2], os.environ.get('JSON_SECRET_KEY', ''), int(sys.argv[3]))))
        except TokenRejected as e:
            print('rejected: %s' % e)
            sys.exit(3)
    else:
        main()
