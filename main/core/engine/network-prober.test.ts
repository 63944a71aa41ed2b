import { describe, expect, it } from 'vitest'
import { NetworkProber } from './network-prober'

// Addresses where nothing listens: every probe is refused at once, which is all these tests need.
const quiet = (n: number) => `127.0.0.${240 + n}`

describe('NetworkProber', () => {
  it('closes the pinned agents of deployments it has not probed for two minutes, and keeps the others', async () => {
    let now = 0
    const prober = new NetworkProber(() => now)
    try {
      await prober.probe(quiet(1), 'sha256/one')
      await prober.probe(quiet(2), 'sha256/two')
      expect(prober.openAgents).toBe(2)
      now = 60_000
      await prober.probe(quiet(3), 'sha256/three')
      expect(prober.openAgents).toBe(3)
      now = 150_000
      await prober.probe(quiet(4), 'sha256/four')
      // one and two idle for 150 s: closed; three (90 s) stays; four is new.
      expect(prober.openAgents).toBe(2)
      // An agent asked for again after its sweep is simply made anew.
      await prober.acceptsToken(quiet(1), 'sha256/one', 'token')
      expect(prober.openAgents).toBe(3)
    } finally {
      await prober.close()
    }
    expect(prober.openAgents).toBe(0)
  })
})
