// The deploy's SSH key choice on its record (ids or fingerprints): kept through the file as written, "None"
// ([]) included; records from before it load without the field, which means "Settings' keys".
import { describe, expect, it } from 'vitest'
import { parseStoreText } from './schema'

const OLD_RECORD = {
  id: '3f1c2a9e-1111-4222-8333-444455556666',
  constitutionId: 'c1',
  name: 'dictumal-old-3f1c2a9e',
  region: 'nyc3',
  size: 's-2vcpu-4gb',
  image: 'ubuntu-24-04-x64',
  dropletId: 501,
  ip: '203.0.113.9',
  status: 'ACTIVE',
  stage: 'active',
  percent: 100,
  checks: { vnc5901: true, http80: true, guacHttp8080: true, guacHttps443: true },
  error: null,
  certFingerprint: 'sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  activeAt: '2026-01-01T00:05:00.000Z',
  destroyedAt: null,
}

function load(record: object) {
  const parsed = parseStoreText(JSON.stringify({ schemaVersion: 1, constitutions: [], deployments: [record] }))
  if (!parsed.ok) throw new Error(parsed.detail)
  return parsed.data.deployments[0]!
}

describe('a deployment record’s SSH keys', () => {
  it('an old record loads without the field (Settings’ keys apply), not as "None"', () => {
    const old = load(OLD_RECORD)
    expect('sshKeys' in old).toBe(false)
    expect(old.sshKeys).toBeUndefined()
  })

  it('keeps "None" as [] and a choice as written, through a second save', () => {
    const none = load({ ...OLD_RECORD, sshKeys: [] })
    expect(none.sshKeys).toEqual([])
    expect(load(none).sshKeys).toEqual([])
    const chosen = ['512189', '3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa']
    expect(load(load({ ...OLD_RECORD, sshKeys: chosen })).sshKeys).toEqual(chosen)
  })

  it('refuses a malformed list rather than guessing', () => {
    for (const sshKeys of ['512189', [''], [42], null]) {
      expect(parseStoreText(JSON.stringify({ schemaVersion: 1, constitutions: [], deployments: [{ ...OLD_RECORD, sshKeys }] })).ok).toBe(false)
    }
  })
})
