import { describe, expect, it } from 'vitest'
import { generateDeploymentSecrets, isDeploymentSecrets, SECRET_PATTERNS } from './deployment-secrets'

describe('generateDeploymentSecrets', () => {
  it('makes secrets of the documented shape', () => {
    const secrets = generateDeploymentSecrets()
    expect(secrets.vncPassword).toMatch(SECRET_PATTERNS.vncPassword)
    expect(secrets.guacamoleKey).toMatch(SECRET_PATTERNS.guacamoleKey)
    expect(secrets.userPassword).toMatch(SECRET_PATTERNS.userPassword)
    expect(secrets.logKey).toMatch(SECRET_PATTERNS.logKey)
    expect(isDeploymentSecrets(secrets)).toBe(true)
  })

  it('never repeats itself across many deployments', () => {
    const many = Array.from({ length: 200 }, () => generateDeploymentSecrets())
    for (const field of ['vncPassword', 'guacamoleKey', 'userPassword', 'logKey'] as const) {
      expect(new Set(many.map((s) => s[field])).size).toBe(many.length)
    }
  })

  it('uses the whole alphabet rather than a narrow slice of it', () => {
    const chars = new Set(Array.from({ length: 300 }, () => generateDeploymentSecrets().userPassword).join(''))
    expect(chars.size).toBeGreaterThan(50)
  })

  it('accepts a keychain entry from before the setup log key existed', () => {
    const { logKey: _dropped, ...older } = generateDeploymentSecrets()
    expect(isDeploymentSecrets(older)).toBe(true)
  })

  it('rejects malformed secrets read back from elsewhere', () => {
    const good = generateDeploymentSecrets()
    expect(isDeploymentSecrets({ ...good, vncPassword: 'short' })).toBe(false)
    expect(isDeploymentSecrets({ ...good, guacamoleKey: 'G'.repeat(32) })).toBe(false)
    expect(isDeploymentSecrets({ ...good, userPassword: "pa$$word'; rm -rf /" })).toBe(false)
    expect(isDeploymentSecrets({ ...good, logKey: 'ab'.repeat(16) })).toBe(false)
    expect(isDeploymentSecrets({ ...good, logKey: 7 })).toBe(false)
    expect(isDeploymentSecrets(null)).toBe(false)
    expect(isDeploymentSecrets('x')).toBe(false)
  })
})
