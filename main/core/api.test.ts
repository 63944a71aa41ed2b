import { describe, expect, it } from 'vitest'
import { createHandlers, InvalidArgumentError } from './api'

const info = { name: 'Dictumal', version: '0.0.0-test', platform: 'linux', dataDir: '/tmp/x' }

describe('createHandlers', () => {
  it('answers app:info with a copy of the app facts', async () => {
    const handlers = createHandlers({ info })
    const answer = await handlers['app:info']()
    expect(answer).toEqual(info)
    expect(answer).not.toBe(info)
  })

  it('rejects unexpected arguments instead of passing them on', async () => {
    const handlers = createHandlers({ info })
    await expect(handlers['app:info']('surprise')).rejects.toBeInstanceOf(InvalidArgumentError)
  })
})
