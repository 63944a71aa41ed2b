import { createHash, generateKeyPairSync } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { log, redact, setLogSink } from './log'
import { AppError, toUserError } from './user-error'

afterEach(() => setLogSink((line) => process.stderr.write(`${line}\n`), 'info'))

describe('log', () => {
  it('masks tokens, bearer headers and launch URLs even when a caller slips', () => {
    const token = 'dop_v1_' + 'a'.repeat(64)
    expect(redact(`token ${token} end`)).toBe('token [redacted] end')
    expect(redact('Authorization: Bearer abc.def')).toBe('Authorization: Bearer [redacted]')
    expect(redact('https://h/guacamole/?data=abc%2Bdef&x=1')).toBe('https://h/guacamole/?data=[redacted]&x=1')
  })

  it('masks PEM private keys (whole or clipped) and bare hex keys, and keeps ids and fingerprints', () => {
    // Keys made here, never committed: PKCS#8 whole, and a SEC1 one clipped mid-body.
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    const pem = String(privateKey.export({ type: 'pkcs8', format: 'pem' })).trim()
    expect(redact(`key ${pem} after`)).toBe('key [redacted] after')
    const sec1 = String(privateKey.export({ type: 'sec1', format: 'pem' }))
    expect(sec1.startsWith('-----BEGIN EC PRIVATE KEY-----\n')).toBe(true)
    expect(redact(`x ${sec1.slice(0, 40)}`)).toBe('x [redacted]')
    expect(redact('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----')).toContain('MIIB')
    expect(redact(`guacamole ${'0123456789abcdef'.repeat(2)} log ${'ab'.repeat(32)}`)).toBe('guacamole [redacted] log [redacted]')
    expect(redact('deployment 7f1c2a4e-0b3d-4c5e-8f6a-1b2c3d4e5f60 at aa:bb:cc:dd')).toBe(
      'deployment 7f1c2a4e-0b3d-4c5e-8f6a-1b2c3d4e5f60 at aa:bb:cc:dd',
    )
    expect(redact(`short ${'ab'.repeat(15)}`)).toBe(`short ${'ab'.repeat(15)}`)
  })

  describe('every DigitalOcean token form', () => {
    const hex = (seed: string): string => seed.repeat(64).slice(0, 64)
    const forms = {
      'personal access (dop_v1_)': `dop_v1_${hex('0f3a9c')}`,
      'OAuth (doo_v1_)': `doo_v1_${hex('b71e')}`,
      'refresh (dor_v1_)': `dor_v1_${hex('4d2')}`,
      'legacy 64 hex': hex('9a8b7c6d5e'),
    }
    for (const [form, token] of Object.entries(forms)) {
      it(`masks a ${form} token in messages, URLs, headers and JSON`, () => {
        const places = [
          `token ${token} end`,
          `${token}`,
          `failed: ${token}.`,
          `https://api.example.com/v2/account?access_token=${token}&x=1`,
          `https://user:${token}@api.example.com/`,
          `Authorization: Bearer ${token}`,
          `authorization: ${token}`,
          `X-Token:${token}\r\n`,
          JSON.stringify({ token, headers: { Authorization: `Bearer ${token}` }, nested: [token] }),
          `DIGITALOCEAN_API_TOKEN=${token}`,
          `'${token}'`,
          `(${token})`,
        ]
        for (const text of places) {
          const out = redact(text)
          expect(out, text).not.toContain(token)
          expect(out, text).not.toMatch(/[0-9a-f]{16}/i)
          expect(out, text).toContain('[redacted]')
        }
        // JSON stays JSON.
        const json = redact(JSON.stringify({ token, url: `https://h/guacamole/?data=${token}` }))
        expect(JSON.parse(json)).toEqual({ token: '[redacted]', url: 'https://h/guacamole/?data=[redacted]' })
      })
    }

    it('masks a prefixed token whatever its length or case, and keeps ordinary text and ids', () => {
      expect(redact('DOP_V1_ABCDEF and dop_v1_ and doo_v1_12')).toBe('[redacted] and [redacted] and [redacted]')
      const id = '5c0ffee0-1d2e-4f3a-8b4c-9d0e1f2a3b4c'
      const kept = `deployment ${id} droplet 512345678 fingerprint sha256/${createHash('sha256').update('cert').digest('base64')} md5 aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99 short ${'c'.repeat(31)}`
      expect(redact(kept)).toBe(kept)
      expect(redact(`${'a'.repeat(63)} goes`)).toBe('[redacted] goes')
    })
  })

  it('masks them in the sentences users see and in log lines', () => {
    const legacy = 'e'.repeat(64)
    const oauth = `doo_v1_${'1'.repeat(64)}`
    const shown = toUserError(new AppError('x', `DigitalOcean refused ${legacy}`, `Try again without ${oauth}.`))
    expect(shown).toEqual({ code: 'x', message: 'DigitalOcean refused [redacted]', hint: 'Try again without [redacted].' })
    const lines: string[] = []
    setLogSink((line) => lines.push(line), 'info')
    log.error('cli', 'failed', { refresh: `dor_v1_${'2'.repeat(64)}`, legacy })
    expect(lines.join('\n')).not.toMatch(/[0-9a-f]{64}|[12e]{20}/)
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
