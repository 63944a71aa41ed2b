// Release packaging: electron-builder.yml plus what only a release has, for macOS a Developer ID
// signature with the hardened runtime and Apple's notarization. The secrets come from the
// environment, never from this repository:
//   signing:       CSC_LINK (path or base64 of the .p12) + CSC_KEY_PASSWORD, or CSC_NAME for a
//                  certificate already in the keychain;
//   notarization:  APPLE_API_KEY + APPLE_API_KEY_ID + APPLE_API_ISSUER (recommended), or
//                  APPLE_ID + APPLE_APP_SPECIFIC_PASSWORD + APPLE_TEAM_ID, or
//                  APPLE_KEYCHAIN + APPLE_KEYCHAIN_PROFILE.
// Run: npm run dist:release. On macOS a release without them stops with one sentence saying which.
/* eslint-disable no-restricted-exports -- electron-builder loads this file's default export */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

const root = dirname(fileURLToPath(import.meta.url))

const NOTARIZE_SETS = [
  ['APPLE_API_KEY', 'APPLE_API_KEY_ID', 'APPLE_API_ISSUER'],
  ['APPLE_ID', 'APPLE_APP_SPECIFIC_PASSWORD', 'APPLE_TEAM_ID'],
  ['APPLE_KEYCHAIN', 'APPLE_KEYCHAIN_PROFILE'],
]

/** What a macOS release still needs from the environment; empty when it has everything. */
export function missingReleaseSecrets(env) {
  const has = (name) => typeof env[name] === 'string' && env[name].trim() !== ''
  const missing = []
  if (!has('CSC_LINK') && !has('CSC_NAME')) missing.push('a Developer ID certificate (CSC_LINK and CSC_KEY_PASSWORD, or CSC_NAME)')
  if (!NOTARIZE_SETS.some((set) => set.every(has))) {
    missing.push('notarization credentials (APPLE_API_KEY, APPLE_API_KEY_ID and APPLE_API_ISSUER)')
  }
  return missing
}

/** The release configuration for a build on `platform`; throws one sentence when a macOS release lacks its secrets. */
export function releaseConfig({ env, platform }) {
  const base = parse(readFileSync(join(root, 'electron-builder.yml'), 'utf8'))
  if (platform === 'darwin') {
    const missing = missingReleaseSecrets(env)
    if (missing.length > 0) throw new Error(`A macOS release needs ${missing.join(' and ')} in the environment.`)
  }
  // Without an identity electron-builder takes the Developer ID from CSC_LINK / CSC_NAME.
  const { identity: _adHoc, ...mac } = base.mac
  return {
    ...base,
    // A release that could not be signed must fail, not ship unsigned.
    forceCodeSigning: platform === 'darwin',
    mac: {
      ...mac,
      hardenedRuntime: true,
      entitlements: 'resources/entitlements.mac.plist',
      entitlementsInherit: 'resources/entitlements.mac.plist',
      notarize: true,
    },
  }
}

export default () => releaseConfig({ env: process.env, platform: process.platform })
