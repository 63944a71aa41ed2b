// The droplet's setup log, read over the network (issue 13, item 5; the contract is in
// ../setup-log-contract.ts): the tail of /var/log/dictumal-init.log over the deployment's pinned HTTPS,
// opened with its log key. What comes back is plain text safe to show anywhere: no escape sequences,
// no control characters but newline and tab. The key and the URL never appear in an error or a log line.
import { request } from 'undici'
import type { Deployment, SetupLogTail } from '../../../preload/contract'
import { UNSAFE_CHARACTERS } from '../control-characters'
import { SETUP_LOG_PATH, SETUP_LOG_TAIL_BYTES, setupLogAuthorization } from '../setup-log-contract'
import { AppError } from '../user-error'
import { PinMismatchError, pinnedAgent } from './probes'

export type { SetupLogTail }

/** What is needed from the keychain entry: the key, and the pin it was stored with. */
export interface SetupLogSecrets {
  logKey?: string
  certFingerprint?: string
}

export interface SetupLogOptions {
  /** Whole request, connect to last byte. */
  timeoutMs?: number
  /** Tests serve on a loopback port of their own; droplets always on 443. */
  port?: number
  now?: () => number
}

export const SETUP_LOG_TIMEOUT_MS = 8000

type Target = Pick<Deployment, 'status' | 'ip' | 'certFingerprint'>

function fail(code: string, sentence: string): never {
  throw new AppError(`setup-log-${code}`, sentence)
}

/**
 * Fetches the tail of a deployment's setup log. Everything that can go wrong is one sentence (an
 * AppError); `loadSecrets` is asked only once the deployment could have a log at all.
 */
export async function fetchSetupLog(d: Target, loadSecrets: () => Promise<SetupLogSecrets>, options: SetupLogOptions = {}): Promise<SetupLogTail> {
  if (d.status === 'DESTROYED') fail('destroyed', 'This desktop was destroyed, and its setup log went with its droplet.')
  if (d.status === 'HIBERNATED') fail('hibernated', 'This desktop is hibernated: its droplet, and the setup log on it, come back when it resumes.')
  if (d.ip === null) {
    if (!setupInProgress(d)) fail('no-ip', 'The droplet has no IP address, so its setup log cannot be read.')
    fail('no-ip', 'The droplet has no IP address yet, so its setup log cannot be read; it will be readable within a minute or two.')
  }
  const secrets = await loadSecrets()
  if (secrets.logKey === undefined || secrets.logKey === '') {
    fail(
      'no-key',
      'This desktop was deployed before Dictumal could read setup logs; with an SSH key on the droplet, read it with: ssh root@' + d.ip + ' tail -f /var/log/dictumal-init.log',
    )
  }
  const timeoutMs = options.timeoutMs ?? SETUP_LOG_TIMEOUT_MS
  const fingerprint = secrets.certFingerprint ?? d.certFingerprint
  const agent = pinnedAgent(fingerprint, timeoutMs)
  const port = options.port ?? 443
  const host = port === 443 ? d.ip : `${d.ip}:${port}`
  try {
    const res = await request(`https://${host}${SETUP_LOG_PATH}`, {
      method: 'GET',
      dispatcher: agent,
      headers: { authorization: setupLogAuthorization(secrets.logKey), range: `bytes=-${SETUP_LOG_TAIL_BYTES}` },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    })
    if (res.statusCode !== 200 && res.statusCode !== 206) {
      await res.body.dump().catch(() => {})
      if (res.statusCode === 404) {
        // "Yet" only while setup runs: on a failed (or finished) desktop a retry would answer the same forever.
        if (!setupInProgress(d)) fail('absent', notServed(d.ip))
        fail('not-yet', "The setup log isn't available yet (the droplet has not started setup); try again in a minute.")
      }
      fail('status', `The droplet answered HTTP ${res.statusCode} instead of its setup log; try again in a minute.`)
    }
    const { tail, dropped } = await keepTail(res.body, SETUP_LOG_TAIL_BYTES)
    const cutByServer = res.statusCode === 206 && rangeStart(res.headers['content-range']) !== 0
    return { ...decodeSetupLog(tail, dropped || cutByServer), fetchedAt: new Date((options.now ?? Date.now)()).toISOString() }
  } catch (error) {
    if (error instanceof AppError) throw error
    throw explain(error, d.ip, setupInProgress(d))
  } finally {
    agent.close().catch(() => {})
  }
}

/** The first byte a 206 answer starts at ("bytes 100-199/200" → 100); null when absent or unreadable. */
function rangeStart(header: string | string[] | undefined): number | null {
  const value = Array.isArray(header) ? header[0] : header
  const match = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(value?.trim() ?? '')
  return match ? Number(match[1]) : null
}

/** Reads a body keeping only its last `limit` bytes, whatever the server sends. */
async function keepTail(body: AsyncIterable<Buffer | Uint8Array | string>, limit: number): Promise<{ tail: Buffer; dropped: boolean }> {
  let chunks: Buffer[] = []
  let size = 0
  let dropped = false
  for await (const chunk of body) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    chunks.push(buf)
    size += buf.length
    if (size > limit * 2) {
      const joined = Buffer.concat(chunks)
      chunks = [joined.subarray(joined.length - limit)]
      size = limit
      dropped = true
    }
  }
  const all = Buffer.concat(chunks)
  if (all.length > limit) return { tail: all.subarray(all.length - limit), dropped: true }
  return { tail: all, dropped }
}

// ESC-introduced sequences as terminals read them: CSI (colours, cursor moves), OSC/DCS/APC/PM/SOS
// strings up to BEL or ST (titles, clipboard, hyperlinks), and the two-character escapes.
// eslint-disable-next-line no-control-regex -- matching control sequences is the point
const ESCAPE_SEQUENCES = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b[\]PX^_][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[ -/]*[0-~]|\u009b[0-?]*[ -/]*[@-~]/gu

/**
 * Bytes of the log's end → text to show. With `truncated`, the first (partial) line is dropped when a
 * later line exists. UTF-8 is decoded with U+FFFD for anything malformed; escape sequences and control
 * characters other than newline and tab are removed; a carriage return keeps what a terminal would show
 * last on that line (apt's progress meters).
 */
export function decodeSetupLog(bytes: Uint8Array, truncated: boolean): { text: string; truncated: boolean } {
  let start = 0
  if (truncated) {
    const newline = bytes.indexOf(0x0a)
    if (newline >= 0 && newline < bytes.length - 1) start = newline + 1
  }
  const raw = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false }).decode(bytes.subarray(start))
  const lines = raw
    .replace(ESCAPE_SEQUENCES, '')
    .split('\n')
    .map((line) => {
      const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line
      const overwritten = trimmed.lastIndexOf('\r')
      return (overwritten >= 0 ? trimmed.slice(overwritten + 1) : trimmed).replace(UNSAFE_CHARACTERS, '')
    })
  return { text: lines.join('\n'), truncated }
}

/** Reading the log over SSH instead (only a droplet given an SSH key lets anyone in). */
function sshHint(ip: string): string {
  return `with an SSH key you can read it: ssh root@${ip} tail -n 200 /var/log/dictumal-init.log`
}

/** A 404 from a droplet whose setup is over (ERROR, or ACTIVE from an older Dictumal): no "yet", no "try again". */
function notServed(ip: string): string {
  return `The droplet does not serve a setup log (its setup may never have started, or it was made by an older Dictumal); ${sshHint(ip)}`
}

/** A transport failure as one sentence naming the droplet's IP only (never the URL or the key). */
function explain(error: unknown, ip: string, inProgress: boolean): AppError {
  const chain: unknown[] = []
  for (let e: unknown = error; e !== undefined && e !== null && chain.length < 5; e = (e as { cause?: unknown }).cause) chain.push(e)
  const code = (e: unknown): string => String((e as { code?: unknown }).code ?? '')
  const name = (e: unknown): string => String((e as { name?: unknown }).name ?? '')
  if (chain.some((e) => e instanceof PinMismatchError)) {
    return new AppError(
      'setup-log-pin',
      `The machine at ${ip} presented a certificate other than the one Dictumal made for this desktop, so its setup log was not read.`,
    )
  }
  if (chain.some((e) => name(e) === 'TimeoutError' || name(e) === 'AbortError' || /TIMEOUT/.test(code(e)))) {
    return new AppError('setup-log-timeout', `The droplet at ${ip} did not send its setup log in time; try again in a moment.`)
  }
  if (chain.some((e) => code(e) === 'ECONNREFUSED')) {
    if (!inProgress) return new AppError('setup-log-refused', `The droplet at ${ip} does not answer on port 443, so it does not serve its setup log; ${sshHint(ip)}`)
    return new AppError('setup-log-refused', `The droplet at ${ip} does not answer on port 443 yet (it may still be booting); try again in a minute.`)
  }
  return new AppError('setup-log-unreachable', `The setup log could not be read from the droplet at ${ip}; try again in a moment.`)
}

/** For the renderer's polling and the CLI: whether a deployment's setup can still change. */
export function setupInProgress(d: Pick<Deployment, 'status'>): boolean {
  return d.status === 'PROVISIONING' || d.status === 'CONFIGURING'
}
