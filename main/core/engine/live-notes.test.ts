// DigitalOcean trouble reaches the card: the sentence per moment, the board's first-sighting time,
// and the real engine + client against the loopback fake (a 429 on create, 503s while watching).
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createAppServices, type AppServices } from '../app-services'
import { DigitalOceanError } from '../digitalocean/errors'
import { MemorySecrets } from '../secrets'
import { LiveBoard, troubleSentence } from './live-notes'
import { startFakeDigitalOcean, type FakeDigitalOcean } from '../../../test/fakes/fake-digitalocean'

let services: AppServices | null = null
let fake: FakeDigitalOcean | null = null
afterEach(async () => {
  await services?.close()
  await fake?.close()
  services = null
  fake = null
})

const e503 = new DigitalOceanError('server-error', 'x', { status: 503 })

describe('live notes', () => {
  it('says what DigitalOcean does, that Dictumal retries, and what exists so far', () => {
    expect(troubleSentence(e503, 'creating')).toBe("DigitalOcean isn't answering (HTTP 503); retrying — nothing has been created yet.")
    expect(troubleSentence(new DigitalOceanError('rate-limited', 'x', { status: 429 }), 'creating')).toBe(
      'DigitalOcean is rate limiting this token (HTTP 429); retrying — nothing has been created yet.',
    )
    expect(troubleSentence(new DigitalOceanError('timeout', 'x'), 'exists')).toBe(
      "DigitalOcean isn't answering (no reply in time); retrying — the droplet exists and is billed; Dictumal keeps checking on it.",
    )
    expect(troubleSentence(new Error('boom'), 'unconfirmed')).toBe("DigitalOcean isn't answering; retrying — the droplet may already exist; Dictumal keeps looking for it.")
  })

  it('keeps the first sighting while the trouble lasts and tells listeners only of changes', () => {
    const board = new LiveBoard()
    const seen: number[] = []
    board.onChange((notes) => seen.push(Object.keys(notes).length))
    board.setCloud('a', 'one', '2026-12-01T10:00:00.000Z')
    board.setCloud('a', 'one', '2026-12-01T10:00:05.000Z')
    board.setCloud('a', 'two', '2026-12-01T10:00:09.000Z')
    expect(board.snapshot()).toEqual({ a: { cloud: { message: 'two', since: '2026-12-01T10:00:00.000Z' } } })
    board.clearCloud('a')
    board.clearCloud('a')
    expect(board.snapshot()).toEqual({})
    expect(seen).toEqual([1, 1, 0])
  })

  it('a create DigitalOcean rate-limits shows on the card while it waits, and goes once the droplet exists', async () => {
    fake = await startFakeDigitalOcean()
    const secrets = new MemorySecrets()
    await secrets.setToken(fake.token)
    const dataDir = mkdtempSync(join(tmpdir(), 'dictumal-live-'))
    services = await createAppServices({
      dataDir,
      env: { DIGITALOCEAN_API_URL: fake.url },
      info: { name: 'Dictumal', version: '0.0.0-test', platform: 'linux', dataDir },
      secrets,
      client: { timeoutMs: 3000, maxRetries: 2 },
    })
    const s = services
    const c = await s.store.update((d) => {
      const now = new Date().toISOString()
      const made = { id: 'c1', name: 'Busy desk', body: '# Busy\n', createdAt: now, updatedAt: now }
      d.constitutions.push(made)
      return made
    })
    fake.inject({ kind: 'rate-limit', retryAfterS: 1, method: 'POST', path: '/v2/droplets' })
    const seen: string[] = []
    s.engine.live.onChange((notes) => {
      for (const note of Object.values(notes)) if (note.cloud) seen.push(note.cloud.message)
    })
    const created = await s.engine.create({ constitutionId: c.id, region: 'nyc3', size: 's-1vcpu-1gb' })
    expect(created.dropletId).not.toBeNull()
    expect(seen).toEqual(['DigitalOcean is rate limiting this token (HTTP 429); retrying — nothing has been created yet.'])
    expect(s.engine.live.snapshot()).toEqual({})

    // A 503 to the create: the tag shows nothing was made, the create is sent again, and the card says so.
    fake.inject({ kind: 'server-error', status: 503, method: 'POST', path: '/v2/droplets' })
    seen.length = 0
    const again = await s.engine.create({ constitutionId: c.id, region: 'nyc3', size: 's-1vcpu-1gb' })
    expect(again.dropletId).not.toBeNull()
    expect(seen).toEqual(["DigitalOcean isn't answering (HTTP 503); retrying — nothing has been created yet."])
    expect(fake.droplets.size).toBe(2)
  })
})
