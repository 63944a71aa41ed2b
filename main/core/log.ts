// A tiny leveled logger for main and the CLI. Callers pass context, never secrets; `redact` is a
// last line of defence that masks anything shaped like a DigitalOcean token, a launch token, one of
// a deployment's hex keys or a PEM private key.
type Level = 'debug' | 'info' | 'warn' | 'error'

const TOKEN_PATTERNS: RegExp[] = [
  // DigitalOcean personal access (dop_v1_), OAuth (doo_v1_) and refresh (dor_v1_) tokens: 64 hex after
  // the prefix, masked whatever follows so a clipped or mangled one goes too.
  /do[opr]_v1_[A-Za-z0-9]*/gi,
  // A PEM private key (a certificate's key in user data), clipped ones too: to the END line or the end.
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g,
  // Legacy DigitalOcean tokens are 64 bare hex digits (so are Guacamole session tokens and the setup log
  // key); the Guacamole JSON key is 32. Any bare run of 32 or more goes (UUIDs keep their dashes).
  /(?<![A-Za-z0-9])[0-9A-Fa-f]{32,}(?![A-Za-z0-9])/g,
  /([?&]data=)[^&\s"']+/g,
  /(Bearer\s+)[^\s"',;]+/gi,
]

export function redact(text: string): string {
  let out = text
  for (const pattern of TOKEN_PATTERNS) {
    out = out.replace(pattern, (_match, prefix?: string) => `${typeof prefix === 'string' ? prefix : ''}[redacted]`)
  }
  return out
}

function describe(detail: unknown): string {
  if (detail instanceof Error) return `${detail.name}: ${detail.message}`
  if (detail === undefined) return ''
  return typeof detail === 'string' ? detail : JSON.stringify(detail)
}

export interface LogSink {
  (line: string): void
}

let sink: LogSink = (line) => process.stderr.write(`${line}\n`)
let minimum: Level = process.env.DICTUMAL_LOG_LEVEL === 'debug' ? 'debug' : 'info'
const order: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 }

export function setLogSink(next: LogSink, level?: Level): void {
  sink = next
  if (level) minimum = level
}

function write(level: Level, scope: string, message: string, detail?: unknown): void {
  if (order[level] < order[minimum]) return
  const extra = describe(detail)
  sink(redact(`${new Date().toISOString()} ${level.toUpperCase()} [${scope}] ${message}${extra ? ` — ${extra}` : ''}`))
}

export const log = {
  debug: (scope: string, message: string, detail?: unknown) => write('debug', scope, message, detail),
  info: (scope: string, message: string, detail?: unknown) => write('info', scope, message, detail),
  warn: (scope: string, message: string, detail?: unknown) => write('warn', scope, message, detail),
  error: (scope: string, message: string, detail?: unknown) => write('error', scope, message, detail),
}
