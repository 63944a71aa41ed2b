// Runs the generated Nginx site for real on loopback ports, in front of a stand-in Guacamole.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { connect as netConnect, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateDeploymentCertificate, type DeploymentCertificate } from '../certificate'
import { hasTool } from './testing/require-tool'
import { generateDeploymentSecrets } from '../deployment-secrets'
import { SETUP_LOG_PATH, setupLogAuthorization } from '../setup-log-contract'
import { nginxSiteConfig } from './nginx'
import { DROPLET_PATHS } from './paths'
import { nginxSetupLogAuth } from './setup-log-server'

const nginxMissing = !hasTool('nginx')
if (nginxMissing && process.env.CI) throw new Error('nginx is not installed: install it (apt-get install nginx) to run this test')

interface Reply {
  status: number
  headers: IncomingMessage['headers']
  body: string
  fingerprint?: string
}

const LOG_KEY = generateDeploymentSecrets().logKey!
/** The key with its last character changed: always wrong (a fixed last '0' would equal it 1 time in 16). */
const WRONG_LOG_KEY = `${LOG_KEY.slice(0, -1)}${LOG_KEY.endsWith('0') ? '1' : '0'}`
const SETUP_LOG = Array.from({ length: 300 }, (_, i) => `==> 2026-12-01T10:00:00Z step install-packages line ${i} ✓\n`).join('')

async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  server.close()
  return port
}

async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 5_000
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = netConnect(port, '127.0.0.1')
      socket.once('connect', () => (socket.destroy(), resolve(true)))
      socket.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe.skipIf(nginxMissing)('the Nginx site, served for real', () => {
  let dir: string
  let cert: DeploymentCertificate
  let nginx: ChildProcess
  let upstream: Server
  let http: number
  let https: number
  const seen: { url: string; headers: IncomingMessage['headers'] }[] = []

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dictumal-nginx-run-'))
    cert = await generateDeploymentCertificate()
    upstream = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers })
      res.setHeader('content-type', 'text/plain')
      res.end(`guacamole saw ${req.method} ${req.url}`)
    })
    upstream.on('upgrade', (req, socket) => {
      seen.push({ url: req.url ?? '', headers: req.headers })
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
      socket.on('data', (data: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), data])))
    })
    upstream.listen(0, '127.0.0.1')
    await once(upstream, 'listening')
    const upstreamPort = (upstream.address() as AddressInfo).port
    http = await freePort()
    https = await freePort()

    mkdirSync(join(dir, 'www', 'dictumal'), { recursive: true })
    writeFileSync(join(dir, 'www', 'dictumal', 'status.json'), '{"v":1,"step":"done"}\n')
    writeFileSync(join(dir, 'cert.pem'), cert.certPem)
    writeFileSync(join(dir, 'key.pem'), cert.keyPem, { mode: 0o600 })
    writeFileSync(join(dir, 'setup-log.conf'), nginxSetupLogAuth(LOG_KEY), { mode: 0o600 })
    writeFileSync(join(dir, 'dictumal-init.log'), SETUP_LOG)
    const site = nginxSiteConfig()
      .replaceAll(DROPLET_PATHS.nginxSetupLogAuth, join(dir, 'setup-log.conf'))
      .replaceAll(DROPLET_PATHS.log, join(dir, 'dictumal-init.log'))
      .replaceAll(DROPLET_PATHS.certPem, join(dir, 'cert.pem'))
      .replaceAll(DROPLET_PATHS.keyPem, join(dir, 'key.pem'))
      .replaceAll(DROPLET_PATHS.webRoot, join(dir, 'www'))
      .replaceAll('/var/log/nginx/', `${dir}/`)
      .replaceAll('127.0.0.1:8080', `127.0.0.1:${upstreamPort}`)
      .replace(/^\s*listen \[::\]:\d+.*\n/gm, '')
      .replace('listen 80 default_server', `listen 127.0.0.1:${http} default_server`)
      .replace('listen 443 ssl default_server', `listen 127.0.0.1:${https} ssl default_server`)
    writeFileSync(join(dir, 'site.conf'), site)
    const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};\n`).join('')
    writeFileSync(
      join(dir, 'nginx.conf'),
      `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n${temps}  include ${dir}/site.conf;\n}\n`,
    )
    nginx = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir, '-g', 'daemon off; master_process off;'], {
      stdio: 'ignore',
    })
    await Promise.all([waitForPort(http), waitForPort(https)])
  })

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      nginx.kill('SIGTERM')
      await once(nginx, 'exit')
    }
    upstream?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const get = (secure: boolean, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const options = { host: '127.0.0.1', port: secure ? https : http, path, method, headers, rejectUnauthorized: false, agent: false }
      const req = (secure ? httpsRequest : httpRequest)(options, (res) => {
        // The socket goes back to the agent by 'end', so read the peer certificate now.
        const peer = secure ? (res.socket as TLSSocket).getPeerCertificate() : undefined
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (body += chunk))
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            ...(peer ? { fingerprint: `sha256/${createHash('sha256').update(peer.raw).digest('base64')}` } : {}),
          })
        })
      })
      req.on('error', reject)
      req.end()
    })

  it('serves the beacon on HTTP without redirecting, uncached', async () => {
    const reply = await get(false, '/dictumal/status.json')
    expect(reply.status).toBe(200)
    expect(reply.headers['content-type']).toMatch(/application\/json/)
    expect(reply.headers['cache-control']).toBe('no-store')
    expect(JSON.parse(reply.body)).toMatchObject({ v: 1 })
  })

  it('redirects every other HTTP request to HTTPS', async () => {
    const reply = await get(false, '/guacamole/?x=1')
    expect(reply.status).toBe(301)
    expect(reply.headers.location).toBe('https://127.0.0.1/guacamole/?x=1')
  })

  it('answers HTTPS with exactly the app-made certificate and proxies /guacamole/ with forwarding headers', async () => {
    const reply = await get(true, '/guacamole/api/tokens', 'POST')
    expect(reply.fingerprint).toBe(cert.fingerprint)
    expect(reply.status).toBe(200)
    expect(reply.body).toBe('guacamole saw POST /guacamole/api/tokens')
    expect(seen.at(-1)?.headers['x-forwarded-for']).toBe('127.0.0.1')
    expect((await get(true, '/')).headers.location).toBe(`https://127.0.0.1:${https}/guacamole/`)
    expect((await get(true, '/dictumal/status.json')).status).toBe(200)
  })

  it('passes the websocket tunnel upgrade through to Guacamole', async () => {
    const socket = tlsConnect({ host: '127.0.0.1', port: https, rejectUnauthorized: false })
    await once(socket, 'secureConnect')
    socket.write(
      'GET /guacamole/websocket-tunnel?token=x HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    )
    let received = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      received += chunk
      if (received.includes('\r\n\r\n') && !received.includes('echo:')) socket.write('ping')
    })
    const deadline = Date.now() + 5_000
    while (!received.includes('echo:ping') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    socket.destroy()
    expect(received).toMatch(/^HTTP\/1\.1 101 /)
    expect(received).toContain('echo:ping')
    expect(seen.at(-1)?.headers.upgrade).toBe('websocket')
  })

  it('serves the setup log over HTTPS to the log key only, its tail as a 206, and 404 like any unknown path otherwise', async () => {
    const auth = { authorization: setupLogAuthorization(LOG_KEY) }
    const tail = await get(true, SETUP_LOG_PATH, 'GET', { ...auth, range: 'bytes=-200' })
    expect(tail.status).toBe(206)
    expect(tail.body).toBe(Buffer.from(SETUP_LOG).subarray(-200).toString('utf8'))
    expect(tail.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(tail.headers['cache-control']).toBe('no-store')
    const size = Buffer.byteLength(SETUP_LOG)
    expect(tail.headers['content-range']).toBe(`bytes ${size - 200}-${size - 1}/${size}`)
    const whole = await get(true, SETUP_LOG_PATH, 'GET', auth)
    expect(whole.status).toBe(200)
    expect(whole.body).toBe(SETUP_LOG)
    expect(whole.headers['cache-control']).toBe('no-store')
    // A suffix longer than the log: all of it (as the small server answers too).
    const longer = await get(true, SETUP_LOG_PATH, 'GET', { ...auth, range: `bytes=-${size + 1000}` })
    expect([200, 206]).toContain(longer.status)
    expect(longer.body).toBe(SETUP_LOG)

    const unknown = await get(true, '/dictumal/no-such-thing')
    expect(unknown.status).toBe(404)
    const other = generateDeploymentSecrets().logKey!
    const tries: Record<string, string>[] = [{}, { authorization: setupLogAuthorization(other) }, { authorization: LOG_KEY }, { authorization: `Bearer ${LOG_KEY}x` }]
    for (const headers of tries) {
      const reply = await get(true, SETUP_LOG_PATH, 'GET', { ...headers, range: 'bytes=-200' })
      expect(reply.status).toBe(404)
      expect(reply.body).toBe(unknown.body)
      expect(reply.headers['cache-control']).toBeUndefined()
      expect(reply.body).not.toContain('install-packages')
    }
    // Guacamole's probe path is still Guacamole's, not the log's.
    expect((await get(true, '/guacamole/', 'GET', auth)).body).toBe('guacamole saw GET /guacamole/')
  })

  it('never serves the setup log on port 80, and never logs the key', async () => {
    const plain = await get(false, SETUP_LOG_PATH, 'GET', { authorization: setupLogAuthorization(LOG_KEY) })
    expect(plain.status).toBe(301)
    expect(plain.body).not.toContain('install-packages')
    await get(true, SETUP_LOG_PATH, 'GET', { authorization: setupLogAuthorization(LOG_KEY) })
    await get(true, SETUP_LOG_PATH, 'GET', { authorization: `Bearer ${WRONG_LOG_KEY}` })
    const access = readFileSync(join(dir, 'access.log'), 'utf8')
    expect(access).toMatch(/"GET \/dictumal\/setup-log HTTP\/1\.1" 200/)
    expect(access).toMatch(/"GET \/dictumal\/setup-log HTTP\/1\.1" 404/)
    const errors = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''
    for (const text of [access, errors]) expect(text).not.toContain(LOG_KEY.slice(0, 16))
  })

  it('never writes a launch token into the access log', async () => {
    const token = 'c2VjcmV0LWxhdW5jaC10b2tlbg%3D%3D'
    await get(true, `/guacamole/?data=${token}`)
    await get(false, `/guacamole/?data=${token}`)
    const log = readFileSync(join(dir, 'access.log'), 'utf8')
    expect(log).toContain('GET /guacamole/ HTTP/1.1')
    expect(log).not.toContain(token)
  })
})

// The generated site on the real nginx, in a private network namespace (so 127.0.0.1:8080 is surely down,
// as it is on a droplet before Tomcat is up, and nothing collides with other listeners), with an
// nginx.conf shaped like Debian's: access and error logs at the http level too, which the site overrides.
describe('no launch token in nginx’s logs, with Guacamole down', () => {
  const TOKEN = 'SECRETTOKEN-eyJ1c2VybmFtZSI6ImRpY3R1bWFsIn0%3D'

  function serve(site: string): { status: number | null; stderr: string; access: string; error: string; codes: string } {
    const dir = mkdtempSync(join(tmpdir(), 'dictumal-nginx-logs-'))
    try {
      const config = site
        .replaceAll(DROPLET_PATHS.nginxSetupLogAuth, join(dir, 'setup-log.conf'))
        .replaceAll(DROPLET_PATHS.log, join(dir, 'dictumal-init.log'))
        .replaceAll(DROPLET_PATHS.certPem, join(dir, 'cert.pem'))
        .replaceAll(DROPLET_PATHS.keyPem, join(dir, 'key.pem'))
        .replaceAll(DROPLET_PATHS.webRoot, join(dir, 'www'))
        .replaceAll('/var/log/nginx/', `${dir}/`)
        .replace(/^\s*listen \[::\]:\d+.*\n/gm, '')
        .replace('listen 80 default_server', 'listen 127.0.0.2:18080 default_server')
        .replace('listen 443 ssl default_server', 'listen 127.0.0.2:18443 ssl default_server')
      expect(config).toContain('proxy_pass http://127.0.0.1:8080/guacamole/;')
      mkdirSync(join(dir, 'www', 'dictumal'), { recursive: true })
      writeFileSync(join(dir, 'cert.pem'), cert.certPem)
      writeFileSync(join(dir, 'key.pem'), cert.keyPem, { mode: 0o600 })
      writeFileSync(join(dir, 'setup-log.conf'), nginxSetupLogAuth(LOG_KEY), { mode: 0o600 })
      writeFileSync(join(dir, 'dictumal-init.log'), SETUP_LOG)
      writeFileSync(join(dir, 'site.conf'), config)
      const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};\n`).join('')
      writeFileSync(
        join(dir, 'nginx.conf'),
        `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n${temps}` +
          `  access_log ${dir}/access.log;\n  error_log ${dir}/error.log;\n  include ${dir}/site.conf;\n}\n`,
      )
      const script = `set -euo pipefail
ip link set lo up
nginx -c ${dir}/nginx.conf -p ${dir} -g 'daemon off; master_process off;' &
NGINX=$!
trap 'kill $NGINX 2>/dev/null || true; wait $NGINX 2>/dev/null || true' EXIT
for _ in $(seq 300); do curl -s -o /dev/null http://127.0.0.2:18080/dictumal/status.json && break; sleep 0.05; done
curl -sk -o /dev/null -w '%{http_code} ' 'https://127.0.0.2:18443/guacamole/?data=${TOKEN}'
curl -s -o /dev/null -w '%{http_code} ' 'http://127.0.0.2:18080/guacamole/?data=${TOKEN}'
curl -sk -o /dev/null -w '%{http_code}' 'https://127.0.0.2:18443/guacamole/api/tokens?token=${TOKEN}'
curl -sk -o /dev/null -w ' %{http_code}' -H 'Authorization: Bearer ${LOG_KEY}' -H 'Range: bytes=-10' https://127.0.0.2:18443${SETUP_LOG_PATH}
curl -sk -o /dev/null -w ' %{http_code}' -H 'Authorization: Bearer ${WRONG_LOG_KEY}' https://127.0.0.2:18443${SETUP_LOG_PATH}
`
      const result = spawnSync('unshare', ['-n', 'bash', '-c', script], { encoding: 'utf8', timeout: 30_000 })
      const read = (name: string) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8') : '')
      return { status: result.status, stderr: result.stderr, access: read('access.log'), error: read('error.log'), codes: result.stdout }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }

  const prerequisite = (): string | null => {
    if (process.getuid?.() !== 0) return 'needs root (it runs nginx in a network namespace of its own): run the tests as root'
    for (const tool of ['nginx', 'unshare', 'curl', 'ip']) if (!hasTool(tool)) return `${tool} is not installed: apt-get install ${tool}`
    return null
  }
  let cert: DeploymentCertificate
  beforeAll(async () => {
    cert = await generateDeploymentCertificate()
  })

  it('logs the requests without ?data= in the access log, and nothing with the token in the error log', (ctx) => {
    const missing = prerequisite()
    if (missing) {
      if (process.env.CI) throw new Error(missing)
      ctx.skip(missing)
    }
    const run = serve(nginxSiteConfig())
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    // Guacamole is down (502) over HTTPS; HTTP redirects.
    expect(run.codes).toBe('502 301 502 206 404')
    expect(run.access).toContain('"GET /guacamole/ HTTP/1.1" 502')
    expect(run.access).toContain('"GET /guacamole/ HTTP/1.1" 301')
    expect(run.access).not.toContain('SECRETTOKEN')
    expect(run.error).not.toContain('SECRETTOKEN')
    for (const log of [run.access, run.error]) expect(log).not.toContain(LOG_KEY.slice(0, 16))

    // The check can fail: at nginx's default level the error log does record the request line.
    const loud = serve(nginxSiteConfig().replaceAll('error.log crit;', 'error.log error;'))
    expect(loud.status).toBe(0)
    expect(loud.error).toMatch(/connect\(\) failed .*request: "GET \/guacamole\/\?data=SECRETTOKEN/)
  })
})
