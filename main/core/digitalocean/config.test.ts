// Token, URL, SSH key and image settings as SPEC §3 and §6 describe them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFakeDigitalOcean } from '../../../test/fakes/fake-digitalocean'
import type { FakeDigitalOcean } from '../../../test/fakes/fake-digitalocean'
import { DigitalOceanClient } from './client'
import { DEFAULT_IMAGE_SLUG, isTruthy, newestUbuntuSlug, parseSshKeys, resolveApiUrl, resolveImageSlug, resolveTokenSource, tokenProvider } from './config'

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
