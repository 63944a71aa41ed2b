import { describe, expect, it } from 'vitest'
import type { Settings } from '../../preload/contract'
import { gatewayHost, imageChoice, settingsView, sshKeys, timeouts } from './config'

const base: Settings = { defaultRegion: 'nyc3', defaultSize: 's-2vcpu-4gb', imageSlug: null, useLatestUbuntu: false, sshKeys: [], gatewayHost: '', desktopClipboardRead: true, idleHibernateMinutes: null }

describe('configuration precedence (env > setting > default)', () => {
  it.each([
    [{}, base, { kind: 'slug', slug: 'ubuntu-24-04-x64', source: 'default' }],
    [{}, { ...base, imageSlug: 'debian-12-x64' }, { kind: 'slug', slug: 'debian-12-x64', source: 'setting' }],
    [{}, { ...base, useLatestUbuntu: true }, { kind: 'latest-ubuntu', source: 'setting' }],
    [{ DIGITALOCEAN_USE_LATEST_UBUNTU_IMAGE: 'Yes' }, { ...base, imageSlug: 'debian-12-x64' }, { kind: 'latest-ubuntu', source: 'env' }],
    [{ DIGITALOCEAN_USE_LATEST_UBUNTU_IMAGE: 'off' }, base, { kind: 'slug', slug: 'ubuntu-24-04-x64', source: 'default' }],
    [{ DIGITALOCEAN_USE_LATEST_UBUNTU_IMAGE: 'false' }, { ...base, useLatestUbuntu: true }, { kind: 'slug', slug: 'ubuntu-24-04-x64', source: 'default' }],
    [{ DIGITALOCEAN_IMAGE_SLUG: ' ubuntu-22-04-x64 ', DIGITALOCEAN_USE_LATEST_UBUNTU_IMAGE: '1' }, { ...base, useLatestUbuntu: true }, { kind: 'slug', slug: 'ubuntu-22-04-x64', source: 'env' }],
  ])('image for env %j', (env, settings, expected) => {
    expect(imageChoice(env, settings)).toEqual(expected)
  })

  it('takes the gateway host from DICTUMAL_STREAM_GATEWAY_HOST, then the MVP alias, then the setting', () => {
    const settings = { ...base, gatewayHost: 'from-setting.example' }
    expect(gatewayHost({}, settings)).toBe('from-setting.example')
    expect(gatewayHost({ NEXT_PUBLIC_STREAM_GATEWAY_HOST: 'mvp.example' }, settings)).toBe('mvp.example')
    expect(gatewayHost({ DICTUMAL_STREAM_GATEWAY_HOST: 'new.example', NEXT_PUBLIC_STREAM_GATEWAY_HOST: 'mvp.example' }, settings)).toBe('new.example')
    // A blank env value means "use the IP", overriding a saved host.
    expect(gatewayHost({ DICTUMAL_STREAM_GATEWAY_HOST: '' }, settings)).toBe('')
    expect(gatewayHost({ DICTUMAL_STREAM_GATEWAY_HOST: ' ', NEXT_PUBLIC_STREAM_GATEWAY_HOST: 'mvp.example' }, settings)).toBe('mvp.example')
  })

  it('uses DIGITALOCEAN_SSH_KEYS over saved keys, and says which values the env overrides', () => {
    const settings = { ...base, sshKeys: ['111'] }
    expect(sshKeys({}, settings)).toEqual(['111'])
    const md5 = '3B:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa'
    expect(sshKeys({ DIGITALOCEAN_SSH_KEYS: ` 1, ,${md5} ` }, settings)).toEqual(['1', md5.toLowerCase()])
    // Only what DigitalOcean takes: an id or an MD5 fingerprint, else one sentence naming where the value came from.
    expect(() => sshKeys({ DIGITALOCEAN_SSH_KEYS: '12345,aa:bb' }, settings)).toThrow(/^The SSH key "aa:bb" in DIGITALOCEAN_SSH_KEYS is not a DigitalOcean key id or fingerprint; use/)
    expect(() => sshKeys({}, { ...base, sshKeys: ['ssh-ed25519 AAAAC3Nza me@host'] })).toThrow(/"ssh-ed25519 AAAAC3Nza me@host" in Settings is a public key/)
    const view = settingsView({ DIGITALOCEAN_IMAGE_SLUG: 'x-1', DIGITALOCEAN_SSH_KEYS: '9' }, settings)
    expect(view.overrides).toEqual({ imageSlug: 'x-1', sshKeys: ['9'] })
    expect(view.settings.sshKeys).toEqual(['111'])
  })

  it('reads the advanced timeouts in seconds and ignores nonsense', () => {
    expect(timeouts({})).toEqual({ provisioningMs: 600_000, configuringMs: 1_200_000 })
    expect(timeouts({ DICTUMAL_PROVISIONING_TIMEOUT_S: '30', DICTUMAL_CONFIGURING_TIMEOUT_S: 'soon' })).toEqual({ provisioningMs: 30_000, configuringMs: 1_200_000 })
  })
})
