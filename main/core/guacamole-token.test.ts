import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { requireTool } from './recipe/testing/require-tool'
import {
  buildLaunchUrl,
  encryptGuacamoleToken,
  GuacamoleTokenError,
  mintLaunchToken,
  verifyGuacamoleToken,
} from './guacamole-token'

// Known-answer vector from shared/reference/droplet-stack.md (made with the openssl CLI only).
const VECTOR_KEY = '4c0b569e4c96df157eee1b65dd0e4d41'
const VECTOR_JSON =
  '{"username":"alice","expires":1767225600000,"connections":{"desktop":{"protocol":"vnc","parameters":{"hostname":"172.17.0.1","port":"5901","password":"vncpass1"}}}}'
const VECTOR_TOKEN =
  'yq1VL/eUV2Czfid83LJsc/QfQjCZ+MFMVWuRNs7jCZLQGzV3He4NJZz2AeN+C2D0TEA8XdRsznev/IMZmLpX9mvTNEVajWYawZUB/Zp42iVkG+YADpd93ULLRUAvGxx+n6qjtCnfunxdLNCd4EOiIIiwyEZxS/XvTPuRSvga7IYsRlzV+T0SXYMZJH1mroTQKP2pnKL/KR47azjgPdaVf52LAzOLaenCq77ZIVDH5tG+3fLx6QE8J9Qed684sK3bUaJQgSPFZAYOS0NbI2Uq1A=='
const NOW = Date.UTC(2026, 10, 27, 10, 0, 0)
const KEY = '00112233445566778899aabbccddeeff'

const dirs: string[] = []
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })))

describe('Guacamole JSON auth tokens', () => {
  it('reproduces the known-answer vector byte for byte', () => {
    expect(VECTOR_JSON).toHaveLength(164)
    expect(encryptGuacamoleToken(VECTOR_JSON, VECTOR_KEY)).toBe(VECTOR_TOKEN)
  })

  it('verifies the vector and returns its payload while it is valid', () => {
    const payload = verifyGuacamoleToken(VECTOR_TOKEN, VECTOR_KEY, 1767225600000 - 1)
    expect(payload.username).toBe('alice')
    expect(payload.connections.desktop?.parameters.password).toBe('vncpass1')
    expect(() => verifyGuacamoleToken(VECTOR_TOKEN, VECTOR_KEY, 1767225600000)).toThrow(/expired/)
  })

  it('mints one VNC connection to the loopback desktop that expires in five minutes', () => {
    const payload = verifyGuacamoleToken(mintLaunchToken({ keyHex: KEY, vncPassword: 'Ab3dEf7h', now: NOW }), KEY, NOW)
    expect(payload).toEqual({
      username: 'dictumal',
      expires: NOW + 5 * 60 * 1000,
      singleUse: true,
      connections: {
        desktop: { protocol: 'vnc', parameters: { hostname: '127.0.0.1', port: '5901', password: 'Ab3dEf7h' } },
      },
    })
  })

  it('honours a custom lifetime and a Date clock, and stays single use', () => {
    const token = mintLaunchToken({ keyHex: KEY, vncPassword: 'Ab3dEf7h', now: new Date(NOW), ttlMs: 1000 })
    expect(verifyGuacamoleToken(token, KEY, NOW + 999)).toMatchObject({ expires: NOW + 1000, singleUse: true })
    expect(() => verifyGuacamoleToken(token, KEY, NOW + 1000)).toThrow(GuacamoleTokenError)
    expect(() => mintLaunchToken({ keyHex: KEY, vncPassword: 'x', now: NOW, ttlMs: 0 })).toThrow(RangeError)
  })

  it('rejects a token made with another key, a tampered token, garbage and a bad key', () => {
    const token = mintLaunchToken({ keyHex: KEY, vncPassword: 'Ab3dEf7h', now: NOW })
    const reasonOf = (fn: () => unknown): string => {
      try {
        fn()
      } catch (error) {
        if (error instanceof GuacamoleTokenError) return error.reason
        throw error
      }
      return 'accepted'
    }
    expect(reasonOf(() => verifyGuacamoleToken(token, 'ffeeddccbbaa99887766554433221100', NOW))).toBe('bad-signature')
    const bytes = Buffer.from(token, 'base64')
    bytes[20] = (bytes[20] ?? 0) ^ 1
    expect(reasonOf(() => verifyGuacamoleToken(bytes.toString('base64'), KEY, NOW))).toBe('bad-signature')
    expect(reasonOf(() => verifyGuacamoleToken('not base64!', KEY, NOW))).toBe('bad-token')
    expect(reasonOf(() => verifyGuacamoleToken(encryptGuacamoleToken('{"nope":1}', KEY), KEY, NOW))).toBe('bad-payload')
    expect(reasonOf(() => encryptGuacamoleToken('{}', 'abc'))).toBe('bad-key')
  })

  it('mints tokens the openssl CLI decrypts and whose HMAC it reproduces', () => {
    requireTool('openssl')
    const dir = mkdtempSync(join(tmpdir(), 'guac-token-'))
    dirs.push(dir)
    const token = mintLaunchToken({ keyHex: KEY, vncPassword: 'Zz9yY8xX', now: NOW })
    writeFileSync(join(dir, 'token.b64'), token)
    const iv = '0'.repeat(32)
    execFileSync('openssl', ['enc', '-d', '-aes-128-cbc', '-K', KEY, '-iv', iv, '-nosalt', '-a', '-A', '-in', join(dir, 'token.b64'), '-out', join(dir, 'dec.bin')])
    const decrypted = readFileSync(join(dir, 'dec.bin'))
    const json = decrypted.subarray(32)
    writeFileSync(join(dir, 'auth.json'), json)
    const hmac = execFileSync('openssl', ['dgst', '-sha256', '-mac', 'HMAC', '-macopt', `hexkey:${KEY}`, '-binary', join(dir, 'auth.json')])
    expect(hmac.equals(decrypted.subarray(0, 32))).toBe(true)
    expect(JSON.parse(json.toString('utf8'))).toMatchObject({ username: 'dictumal', expires: NOW + 300_000, singleUse: true })
    // And the other way round: a token encrypted by openssl verifies here.
    const viaOpenssl = execFileSync('openssl', ['enc', '-aes-128-cbc', '-K', KEY, '-iv', iv, '-nosalt', '-a', '-A'], {
      input: Buffer.concat([hmac, json]),
    }).toString('utf8').trim()
    expect(viaOpenssl).toBe(token)
  })
})

describe('single-use launch tokens', () => {
  // A second known-answer vector, for the payload the app really sends (singleUse: true, SPEC §5):
  // the expected token is made here by the openssl CLI alone from the literal JSON below.
  const SINGLE_USE_JSON =
    '{"username":"dictumal","expires":1795773900000,"singleUse":true,"connections":{"desktop":{"protocol":"vnc","parameters":{"hostname":"127.0.0.1","port":"5901","password":"Ab3dEf7h"}}}}'

  it('mints exactly the JSON and the token openssl makes for a single-use payload', () => {
    requireTool('openssl')
    const dir = mkdtempSync(join(tmpdir(), 'guac-single-'))
    dirs.push(dir)
    writeFileSync(join(dir, 'auth.json'), SINGLE_USE_JSON)
    const hmac = execFileSync('openssl', ['dgst', '-sha256', '-mac', 'HMAC', '-macopt', `hexkey:${KEY}`, '-binary', join(dir, 'auth.json')])
    const expected = execFileSync('openssl', ['enc', '-aes-128-cbc', '-K', KEY, '-iv', '0'.repeat(32), '-nosalt', '-a', '-A'], {
      input: Buffer.concat([hmac, Buffer.from(SINGLE_USE_JSON, 'utf8')]),
    })
      .toString('utf8')
      .trim()
    expect(NOW + 5 * 60 * 1000).toBe(1795773900000)
    expect(mintLaunchToken({ keyHex: KEY, vncPassword: 'Ab3dEf7h', now: NOW })).toBe(expected)
  })
})

describe('buildLaunchUrl', () => {
  it('URL-encodes the token so +, / and = survive the query string', () => {
    const url = buildLaunchUrl('203.0.113.7', 'a+b/c==')
    expect(url).toBe('https://203.0.113.7/guacamole/?data=a%2Bb%2Fc%3D%3D')
    expect(new URL(url).searchParams.get('data')).toBe('a+b/c==')
  })

  it('accepts gateway names, ports and IPv6, and refuses anything that would change the URL', () => {
    expect(buildLaunchUrl('gw.example.com:8443', 't')).toBe('https://gw.example.com:8443/guacamole/?data=t')
    expect(buildLaunchUrl('[2001:db8::1]', 't')).toBe('https://[2001:db8::1]/guacamole/?data=t')
    for (const bad of ['', 'evil.com/path', 'user@host', 'host?x=1', 'https://host', 'a b']) {
      expect(() => buildLaunchUrl(bad, 't')).toThrow(RangeError)
    }
  })
})
