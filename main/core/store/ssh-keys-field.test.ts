// The deploy's SSH key choice on its record (ids or fingerprints): kept through the file as written, "None"
// ([]) included; records from before it load without the field, which means "Settings' keys".
import { describe, expect, it } from 'vitest'
import { parseStoreText } from './schema'
import { OLD_DEPLOYMENT_RECORD as OLD_RECORD } from './test-support'

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
