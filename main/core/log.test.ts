import { afterEach, describe, expect, it } from 'vitest'
import { log, redact, setLogSink } from './log'

afterEach(() => setLogSink((line) => process.stderr.write(`${line}\n`), 'info'))

describe('log', () => {
  it('masks tokens, bearer headers and launch URLs even when a caller slips', () => {
    const token = 'dop_v1_' + 'a'.repeat(64)
    expect(redact(`token ${token} end`)).toBe('token [redacted] end')
    expect(redact('Authorization: Bearer abc.def')).toBe('Authorization: Bearer [redacted]')
    expect(redact('https://h/guacamole/?data=abc%2Bdef&x=1')).toBe('https://h/guacamole/?data=[redacted]&x=1')
  })

  it('writes scoped lines at or above the level', () => {
    const lines: string[] = []
    setLogSink((line) => lines.push(line), 'info')
    log.debug('t', 'hidden')
    log.warn('engine', 'slow', new Error('boom dop_v1_ffff'))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/WARN \[engine\] slow — Error: boom \[redacted\]/)
  })
})
