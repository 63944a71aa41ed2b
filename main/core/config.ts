// Where each setting comes from (SPEC §6): an environment variable wins over the saved setting,
// which wins over the default. Pure, so the precedence is tested as a table.
import type { Settings, SettingsView } from '../../preload/contract'
import { DEFAULT_IMAGE_SLUG, isTruthy, parseSshKeys, type Env } from './digitalocean'
import { checkedSshKeys } from './digitalocean/config'

export type ImageChoice = { kind: 'slug'; slug: string; source: 'env' | 'setting' | 'default' } | { kind: 'latest-ubuntu'; source: 'env' | 'setting' }

export function imageChoice(env: Env, settings: Settings): ImageChoice {
  const envSlug = env.DIGITALOCEAN_IMAGE_SLUG?.trim()
  if (envSlug) return { kind: 'slug', slug: envSlug, source: 'env' }
  const envLatest = env.DIGITALOCEAN_USE_LATEST_UBUNTU_IMAGE?.trim()
  if (envLatest && isTruthy(envLatest)) return { kind: 'latest-ubuntu', source: 'env' }
  const setSlug = settings.imageSlug?.trim()
  if (setSlug) return { kind: 'slug', slug: setSlug, source: 'setting' }
  // A falsy env value ("0", "off") wins over a saved "latest Ubuntu" too.
  if (settings.useLatestUbuntu && !envLatest) return { kind: 'latest-ubuntu', source: 'setting' }
  return { kind: 'slug', slug: DEFAULT_IMAGE_SLUG, source: 'default' }
}

/** The env gateway host: the new name, then the MVP's; a blank value means "use the IP". */
export function envGatewayHost(env: Env): string | undefined {
  const primary = env.DICTUMAL_STREAM_GATEWAY_HOST?.trim()
  const alias = env.NEXT_PUBLIC_STREAM_GATEWAY_HOST?.trim()
  if (primary) return primary
  if (alias) return alias
  return primary ?? alias
}

export function gatewayHost(env: Env, settings: Settings): string {
  return envGatewayHost(env) ?? settings.gatewayHost.trim()
}

/** DigitalOcean key ids or MD5 fingerprints for the droplet; throws SshKeyError with a sentence for anything else. */
export function sshKeys(env: Env, settings: Settings): string[] {
  const fromEnv = parseSshKeys(env)
  return fromEnv.length > 0 ? checkedSshKeys(fromEnv, 'DIGITALOCEAN_SSH_KEYS') : checkedSshKeys(settings.sshKeys, 'Settings')
}

function seconds(value: string | undefined, fallback: number): number {
  const n = value === undefined ? Number.NaN : Number(value.trim())
  return Number.isFinite(n) && n > 0 ? n * 1000 : fallback
}

export function timeouts(env: Env): { provisioningMs: number; configuringMs: number } {
  return {
    provisioningMs: seconds(env.DICTUMAL_PROVISIONING_TIMEOUT_S, 600_000),
    configuringMs: seconds(env.DICTUMAL_CONFIGURING_TIMEOUT_S, 1_200_000),
  }
}

/** What the Settings page shows: the saved values, and which ones the environment overrides. */
export function settingsView(env: Env, settings: Settings): SettingsView {
  const overrides: SettingsView['overrides'] = {}
  const envSlug = env.DIGITALOCEAN_IMAGE_SLUG?.trim()
  if (envSlug) overrides.imageSlug = envSlug
  if (env.DIGITALOCEAN_USE_LATEST_UBUNTU_IMAGE?.trim()) overrides.useLatestUbuntu = isTruthy(env.DIGITALOCEAN_USE_LATEST_UBUNTU_IMAGE)
  const keys = parseSshKeys(env)
  if (keys.length > 0) overrides.sshKeys = keys
  const host = envGatewayHost(env)
  if (host !== undefined) overrides.gatewayHost = host
  return { settings: { ...settings, sshKeys: [...settings.sshKeys] }, overrides }
}
