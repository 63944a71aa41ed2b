// Token, URL, SSH key and image settings as SPEC §3 and §6 describe them.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFakeDigitalOcean } from '../../../test/fakes/fake-digitalocean'
import type { FakeDigitalOcean } from '../../../test/fakes/fake-digitalocean'
import { DigitalOceanClient } from './client'
import {
  ApiUrlError,
  checkedSshKeys,
  DEFAULT_IMAGE_SLUG,
  isTruthy,
  newestUbuntuSlug,
  parseSshKeys,
  resolveApiUrl,
  resolveImageSlug,
  resolveTokenSource,
  SshKeyError,
  sshKeyProblem,
  tokenProvider,
} from './config'
import { createAppServices } from '../app-services'
import { MemorySecrets } from '../secrets'
import { toUserError } from '../user-error'

describe('resolveTokenSource', () => {
  const keychain = (token: string | null) => async () => token
  it('prefers DIGITALOCEAN_API_TOKEN over the keychain', async () => {
    expect(await resolveTokenSource({ env: { DIGITALOCEAN_API_TOKEN: ' env-tok ' }, readKeychainToken: keychain('kc') })).toEqual({ source: 'env', token: 'env-tok' })
  })
  it('falls back to the keychain, then to none', async () => {
    expect(await resolveTokenSource({ env: { DIGITALOCEAN_API_TOKEN: '' }, readKeychainToken: keychain('kc') })).toEqual({ source: 'keychain', token: 'kc' })
    expect(await resolveTokenSource({ env: {}, readKeychainToken: keychain(null) })).toEqual({ source: 'none', token: null })
  })
  it('tokenProvider fails as no-token when there is none', async () => {
    await expect(tokenProvider({ env: {}, readKeychainToken: keychain(null) })()).rejects.toMatchObject({ code: 'no-token' })
  })
})

describe('environment helpers', () => {
  it('reads the API URL with a default', () => {
    expect(resolveApiUrl({})).toBe('https://api.digitalocean.com')
    expect(resolveApiUrl({ DIGITALOCEAN_API_URL: 'http://127.0.0.1:4010/' })).toBe('http://127.0.0.1:4010')
  })
  it('takes https anywhere and plain http only on loopback (localhost, 127.0.0.0/8, ::1)', () => {
    for (const ok of [
      'https://api.digitalocean.com',
      'https://do-proxy.example.com:8443/',
      'http://127.0.0.1:4010',
      'http://127.8.9.10',
      'http://127.1:4010',
      'http://localhost:4010',
      'http://LOCALHOST:4010',
      'http://[::1]:4010',
    ]) {
      expect(() => resolveApiUrl({ DIGITALOCEAN_API_URL: ok }), ok).not.toThrow()
    }
    for (const bad of [
      'http://api.digitalocean.com',
      'http://10.0.0.5:4010',
      'http://128.0.0.1',
      'http://[::ffff:7f00:1]',
      'http://[2001:db8::1]',
      'http://localhost.example.com',
      'http://localhost.',
      'http://127.0.0.1.nip.io',
      'ftp://127.0.0.1',
      'ws://localhost:4010',
      'api.digitalocean.com',
      'not a url',
    ]) {
      let thrown: unknown
      try {
        resolveApiUrl({ DIGITALOCEAN_API_URL: bad })
      } catch (error) {
        thrown = error
      }
      expect(thrown, bad).toBeInstanceOf(ApiUrlError)
      const problem = toUserError(thrown)
      expect(problem.code).toBe('digitalocean/api-url')
      expect(problem.message).toMatch(/^DIGITALOCEAN_API_URL (must start with https:\/\/|is not a URL)/)
      expect(problem.message.split(/(?<=\.) /)).toHaveLength(1)
    }
  })
  it('never repeats credentials written into the URL in its sentence', () => {
    expect(() => resolveApiUrl({ DIGITALOCEAN_API_URL: 'http://alice:s3cret@api.example.com/v2' })).toThrow(ApiUrlError)
    try {
      resolveApiUrl({ DIGITALOCEAN_API_URL: 'http://alice:s3cret@api.example.com/v2' })
    } catch (error) {
      expect(toUserError(error).message).toContain('http://api.example.com/v2')
      expect(toUserError(error).message).not.toMatch(/alice|s3cret/)
    }
  })
  it('splits SSH keys: trimmed, empties dropped', () => {
    expect(parseSshKeys({ DIGITALOCEAN_SSH_KEYS: ' 123 ,, aa:bb:cc ,' })).toEqual(['123', 'aa:bb:cc'])
    expect(parseSshKeys({})).toEqual([])
  })
  it('treats 1/true/yes/on in any case as truthy', () => {
    for (const v of ['1', 'true', 'TRUE', 'Yes', ' on ']) expect(isTruthy(v)).toBe(true)
    for (const v of [undefined, '', '0', 'false', 'no', 'off', 'y']) expect(isTruthy(v)).toBe(false)
  })
})

describe('resolveImageSlug', () => {
  let fake: FakeDigitalOcean
  let client: DigitalOceanClient
  beforeAll(async () => {
    fake = await startFakeDigitalOcean()
    client = new DigitalOceanClient({ baseUrl: fake.url, token: async () => fake.token })
  })
  afterAll(() => fake.close())

  it('uses DIGITALOCEAN_IMAGE_SLUG without asking the API', async () => {
    expect(await resolveImageSlug({ env: { DIGITALOCEAN_IMAGE_SLUG: 'debian-12-x64', DIGITALOCEAN_USE_LATEST_UBUNTU_IMAGE: '1' }, client })).toBe('debian-12-x64')
    expect(fake.requests).toHaveLength(0)
  })
  it('defaults to ubuntu-24-04-x64', async () => {
    expect(await resolveImageSlug({ env: { DIGITALOCEAN_USE_LATEST_UBUNTU_IMAGE: 'no' }, client })).toBe(DEFAULT_IMAGE_SLUG)
    expect(fake.requests).toHaveLength(0)
  })
  it('discovers the newest Ubuntu when asked', async () => {
    expect(await resolveImageSlug({ env: { DIGITALOCEAN_USE_LATEST_UBUNTU_IMAGE: 'Yes' }, client })).toBe('ubuntu-25-10-x64')
    expect(fake.requests.map((r) => r.query.type)).toEqual(['distribution'])
  })
  it('orders versions numerically and skips unavailable or foreign images', () => {
    const img = (slug: string | null, status = 'available') => ({ id: 1, name: 'n', distribution: 'Ubuntu', slug, status })
    expect(newestUbuntuSlug([img('ubuntu-9-10-x64'), img('ubuntu-24-04-x64'), img('ubuntu-26-04-x64', 'retired'), img(null), img('ubuntu-30-04-arm64')])).toBe('ubuntu-24-04-x64')
    expect(newestUbuntuSlug([img('debian-12-x64')])).toBeNull()
  })
})

describe('DIGITALOCEAN_API_URL in the app', () => {
  it('stops the services with the sentence before any request when it is plain http off loopback', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'dictumal-api-url-'))
    try {
      const starting = createAppServices({
        dataDir,
        env: { DIGITALOCEAN_API_URL: 'http://203.0.113.9:4010', DIGITALOCEAN_API_TOKEN: 'dop_v1_' + 'a'.repeat(64) },
        info: { name: 'Dictumal', version: 'test', platform: process.platform, dataDir },
        secrets: new MemorySecrets(),
      })
      await expect(starting).rejects.toBeInstanceOf(ApiUrlError)
      expect(toUserError(await starting.catch((e: unknown) => e)).message).toContain('must start with https://')
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})

describe('SSH keys for DigitalOcean', () => {
  it('takes key ids and MD5 fingerprints, and refuses anything else with one sentence', () => {
    for (const ok of ['1', '512189', '999999999999999', '3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa', 'AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99']) {
      expect(sshKeyProblem(ok, 'DIGITALOCEAN_SSH_KEYS'), ok).toBeNull()
    }
    const cases: Array<[string, RegExp]> = [
      ['0', /not a DigitalOcean key id/],
      ['-5', /not a DigitalOcean key id/],
      ['1e3', /not a DigitalOcean key id/],
      ['aa:bb', /not a DigitalOcean key id/],
      ['3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45', /not a DigitalOcean key id/],
      ['3b-16-bf-e4-8b-00-8b-b8-59-8c-a9-d3-f0-19-45-fa', /not a DigitalOcean key id/],
      ['SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8', /a SHA256 fingerprint, which DigitalOcean does not take here/],
      ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKey alice@example.com', /a public key, not a DigitalOcean key id or fingerprint/],
    ]
    for (const [bad, why] of cases) {
      const sentence = sshKeyProblem(bad, 'Settings')
      expect(sentence, bad).toMatch(why)
      expect(sentence).toMatch(/^The SSH key ".+" in Settings is .+; use the key's numeric id or its MD5 fingerprint .+\.$/)
    }
    expect(() => checkedSshKeys(['12345', 'nope'], 'DIGITALOCEAN_SSH_KEYS')).toThrow(SshKeyError)
    const many = Array.from({ length: 51 }, (_, i) => String(1000 + i))
    expect(() => checkedSshKeys(many, 'this deploy')).toThrow('51 SSH keys in this deploy are too many; a desktop takes at most 50.')
    expect(checkedSshKeys(many.slice(0, 50), 'this deploy')).toHaveLength(50)
    expect(checkedSshKeys([' 12345 ', 'AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99'], 'Settings')).toEqual(['12345', 'aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99'])
  })
})
