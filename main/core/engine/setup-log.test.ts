// The setup log reader against a real loopback HTTPS server with a real deployment certificate: the key,
// the pin, 200 vs 206, garbage and floods of bytes, silence, and every refusal in one sentence.
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { generateDeploymentCertificate, type DeploymentCertificate } from '../certificate'
import { SETUP_LOG_PATH, SETUP_LOG_TAIL_BYTES } from '../setup-log-contract'
import { AppError } from '../user-error'
import { decodeSetupLog, fetchSetupLog } from './setup-log'

const IP = '127.0.0.1'
const KEY = 'a1'.repeat(32)
let cert: DeploymentCertificate
let mallory: DeploymentCertificate
let server: Server | null = null
const seen: { path: string; authorization: string | undefined; range: string | undefined }[] = []

beforeAll(async () => {
  cert = await generateDeploymentCertificate({ deploymentId: 'logtest0' })
  mallory = await generateDeploymentCertificate({ deploymentId: 'mallory0' })
})

afterEach(async () => {
  seen.length = 0
  const s = server
  server = null
  if (s) {
    s.closeAllConnections()
    await new Promise<void>((r) => s.close(() => r()))
  }
})

type Handler = (req: IncomingMessage, res: ServerResponse) => void

/** Serves `log` by the contract: the key or 404, a suffix range as 206. */
function contract(log: Buffer): Handler {
  return (req, res) => {
    if (req.url !== SETUP_LOG_PATH || req.headers.authorization !== `Bearer ${KEY}`) {
      res.writeHead(404).end('Not found\n')
      return
    }
    const suffix = /^bytes=-(\d+)$/.exec(req.headers.range ?? '')
    if (suffix && log.length > Number(suffix[1])) {
      const start = log.length - Number(suffix[1])
      res.writeHead(206, { 'content-range': `bytes ${start}-${log.length - 1}/${log.length}`, 'content-type': 'text/plain' })
      res.end(log.subarray(start))
      return
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(log)
  }
}

async function serve(handler: Handler, certificate = cert): Promise<number> {
  server = createServer({ cert: certificate.certPem, key: certificate.keyPem }, (req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization, range: req.headers.range })
    handler(req, res)
  })
  await new Promise<void>((r) => server!.listen(0, IP, r))
  return (server!.address() as AddressInfo).port
}

const deployment = { status: 'CONFIGURING' as const, ip: IP, certFingerprint: '' }
const withKey = async () => ({ logKey: KEY, certFingerprint: cert.fingerprint })

async function sentence(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(AppError)
  const e = error as AppError
  expect(e.message).not.toContain(KEY)
  expect(e.message).not.toContain(SETUP_LOG_PATH)
  return e
}

describe('fetchSetupLog', () => {
  it('reads a short log whole with the key and the Range header, pinned to the deployment certificate', async () => {
    const port = await serve(contract(Buffer.from('==> 2026-12-01T20:00:00Z step boot\n==> 2026-12-01T20:00:05Z step create-user\n')))
    const tail = await fetchSetupLog(deployment, withKey, { port, now: () => Date.parse('2026-12-01T20:00:09Z') })
    expect(tail).toEqual({
      text: '==> 2026-12-01T20:00:00Z step boot\n==> 2026-12-01T20:00:05Z step create-user\n',
      truncated: false,
      fetchedAt: '2026-12-01T20:00:09.000Z',
    })
    expect(seen).toEqual([{ path: SETUP_LOG_PATH, authorization: `Bearer ${KEY}`, range: `bytes=-${SETUP_LOG_TAIL_BYTES}` }])
  })

  it('takes a 206 tail and drops its partial first line', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'x'.repeat(20)}`)
    const port = await serve(contract(Buffer.from(`${lines.join('\n')}\n`)))
    const tail = await fetchSetupLog(deployment, withKey, { port })
    expect(tail.truncated).toBe(true)
    expect(Buffer.byteLength(tail.text)).toBeLessThanOrEqual(SETUP_LOG_TAIL_BYTES)
    const first = tail.text.split('\n')[0] ?? ''
    expect(lines).toContain(first)
    expect(tail.text.endsWith('line 4999 xxxxxxxxxxxxxxxxxxxx\n')).toBe(true)
  })

  it('keeps only the tail of a server that ignores Range and floods (200 with 3 MB)', async () => {
    const flood = Buffer.concat([Buffer.alloc(3 * 1024 * 1024, 'a'), Buffer.from('\nthe end\n')])
    const port = await serve((_req, res) => res.writeHead(200).end(flood))
    const tail = await fetchSetupLog(deployment, withKey, { port })
    expect(tail.truncated).toBe(true)
    expect(tail.text).toBe('the end\n')
  })

  it('says "not available yet" for a wrong key (404, as for no log), without the key in the sentence', async () => {
    const port = await serve(contract(Buffer.from('secret-free log\n')))
    const e = await sentence(fetchSetupLog(deployment, async () => ({ logKey: 'b2'.repeat(32), certFingerprint: cert.fingerprint }), { port }))
    expect(e.message).toBe("The setup log isn't available yet (the droplet has not started setup); try again in a minute.")
    expect(e.message).not.toContain('b2b2')
  })

  it('on a failed desktop, a 404 or a closed port says the log is not served and how to read it over SSH, never "try again"', async () => {
    const failed = { ...deployment, status: 'ERROR' as const }
    const port = await serve((_req, res) => res.writeHead(404).end('Not found\n'))
    const absent = await sentence(fetchSetupLog(failed, withKey, { port }))
    expect(absent.code).toBe('setup-log-absent')
    expect(absent.message).toBe(
      `The droplet does not serve a setup log (its setup may never have started, or it was made by an older Dictumal); with an SSH key you can read it: ssh root@${IP} tail -n 200 /var/log/dictumal-init.log`,
    )
    // An ACTIVE desktop made by an older Dictumal has no log either, and never will.
    expect((await sentence(fetchSetupLog({ ...deployment, status: 'ACTIVE' }, withKey, { port }))).code).toBe('setup-log-absent')
    const refused = await sentence(fetchSetupLog({ ...failed, ip: '127.0.0.9' }, withKey, { port: 1 }))
    expect(refused.message).toBe(
      'The droplet at 127.0.0.9 does not answer on port 443, so it does not serve its setup log; with an SSH key you can read it: ssh root@127.0.0.9 tail -n 200 /var/log/dictumal-init.log',
    )
    const noIp = await sentence(fetchSetupLog({ ...failed, ip: null }, withKey))
    expect(noIp.message).toBe('The droplet has no IP address, so its setup log cannot be read.')
    for (const e of [absent, refused, noIp]) expect(e.message).not.toMatch(/\byet\b|try again/)
    // While it is being set up, the same answers still mean "wait".
    expect((await sentence(fetchSetupLog({ ...deployment, status: 'PROVISIONING' }, withKey, { port }))).code).toBe('setup-log-not-yet')
  })

  it('refuses another certificate before sending the key', async () => {
    const port = await serve(contract(Buffer.from('log\n')), mallory)
    const e = await sentence(fetchSetupLog(deployment, withKey, { port }))
    expect(e.code).toBe('setup-log-pin')
    expect(e.message).toBe(`The machine at ${IP} presented a certificate other than the one Dictumal made for this desktop, so its setup log was not read.`)
    expect(seen).toEqual([])
  })

  it('gives up on a droplet that never answers, in about the timeout', async () => {
    const port = await serve(() => undefined)
    const t0 = Date.now()
    const e = await sentence(fetchSetupLog(deployment, withKey, { port, timeoutMs: 400 }))
    expect(e.message).toBe(`The droplet at ${IP} did not send its setup log in time; try again in a moment.`)
    expect(Date.now() - t0).toBeLessThan(3000)
  })

  it('gives up on a body that stalls halfway', async () => {
    const port = await serve((_req, res) => {
      res.writeHead(200)
      res.write('half a line')
    })
    const e = await sentence(fetchSetupLog(deployment, withKey, { port, timeoutMs: 400 }))
    expect(e.code).toBe('setup-log-timeout')
  })

  it('says when nothing listens on 443 yet, and names other answers by their status', async () => {
    const refused = await sentence(fetchSetupLog({ ...deployment, ip: '127.0.0.9' }, withKey, { port: 1 }))
    expect(refused.message).toBe('The droplet at 127.0.0.9 does not answer on port 443 yet (it may still be booting); try again in a minute.')
    const port = await serve((_req, res) => res.writeHead(502).end('bad gateway'))
    expect((await sentence(fetchSetupLog(deployment, withKey, { port }))).message).toBe(
      'The droplet answered HTTP 502 instead of its setup log; try again in a minute.',
    )
  })

  it('explains desktops with no log to read, asking the keychain only when there could be one', async () => {
    let asked = 0
    const load = async () => {
      asked += 1
      return {}
    }
    expect((await sentence(fetchSetupLog({ ...deployment, status: 'DESTROYED' }, load))).message).toBe(
      'This desktop was destroyed, and its setup log went with its droplet.',
    )
    expect((await sentence(fetchSetupLog({ ...deployment, status: 'HIBERNATED', ip: null }, load))).code).toBe('setup-log-hibernated')
    expect((await sentence(fetchSetupLog({ ...deployment, ip: null }, load))).message).toBe(
      'The droplet has no IP address yet, so its setup log cannot be read; it will be readable within a minute or two.',
    )
    expect(asked).toBe(0)
    const old = await sentence(fetchSetupLog({ ...deployment, status: 'ERROR' }, load))
    expect(old.message).toMatch(/^This desktop was deployed before Dictumal could read setup logs; /)
    expect(old.message).toContain(`ssh root@${IP} tail -f /var/log/dictumal-init.log`)
    expect(asked).toBe(1)
  })
})

describe('decodeSetupLog', () => {
  it('removes colours, titles, clipboard writes, bidi tricks and C1 controls, and keeps the last state of a redrawn line', () => {
    const raw = [
      '\u001b[1;31mE: Unable to locate package xfce5\u001b[0m',
      '\u001b]0;owned\u0007\u001b]52;c;ZXZpbA==\u0007after osc',
      'Progress: [ 10%]\rProgress: [100%]',
      'tab\tstays\u0085\u009b31mc1\u202Egnp.exe\u0000',
      'crlf line\r',
      '',
    ].join('\n')
    const { text } = decodeSetupLog(Buffer.from(raw), false)
    expect(text).toBe(['E: Unable to locate package xfce5', 'after osc', 'Progress: [100%]', 'tab\tstaysc1gnp.exe', 'crlf line', ''].join('\n'))
  })

  it('decodes broken UTF-8 with replacement characters, and a cut first line goes', () => {
    const bytes = Buffer.concat([Buffer.from([0xa9, 0x20, 0x68]), Buffer.from('\nnaïve ✓\n'), Buffer.from([0xe2, 0x9c])])
    expect(decodeSetupLog(bytes, true).text).toBe('naïve ✓\n\uFFFD')
    expect(decodeSetupLog(Buffer.from('one long line without a newline'), true).text).toBe('one long line without a newline')
  })

  it('turns any bytes into text with no control character but newline and tab, never longer than the bytes', () => {
    // eslint-disable-next-line no-control-regex -- the characters that must not survive
    const unsafe = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/u
    const loneSurrogate = /[\uD800-\uDFFF]/u
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), fc.boolean(), (bytes, truncated) => {
        const { text } = decodeSetupLog(bytes, truncated)
        expect(unsafe.test(text)).toBe(false)
        expect(text.length).toBeLessThanOrEqual(bytes.length)
        expect(loneSurrogate.test(text)).toBe(false)
      }),
      { numRuns: 400 },
    )
  })
})
