// Test-side helpers for the DigitalOcean contract check: route a fake through the shared Prism proxy
// and read back what Prism objected to. See global-setup.ts for the processes behind it.
import { inject } from 'vitest'
import type { FakeDigitalOcean } from '../fakes/fake-digitalocean'
import type { DigitalOceanContractContext } from './context'
import type { ObservedViolations, Violation } from './switchboard'
import './context'

/**
 * Spec quirks we accept, each with the reason the spec and not our code is wrong. Anything not listed
 * fails the test. Empty today: 422 bodies validate under `default`, and the fake avoids the other
 * known quirks (it sends a non-null `networks.v4[].gateway`, complete `size`/`droplet` objects, and
 * only image regions the spec's out-of-date enum knows). Add an entry here, never a blanket filter.
 */
export const KNOWN_SPEC_QUIRKS: ReadonlyArray<{ why: string; test: (v: Violation, seen: ObservedViolations) => boolean }> = []

export function contractContext(): DigitalOceanContractContext {
  try {
    return inject('digitalOceanContract')
  } catch {
    return { switchboardUrl: null, specPath: null, reason: 'the Vitest globalSetup (test/global-setup.ts) is not configured' }
  }
}

/** Whether requests can be held against the OpenAPI spec in this run; warns once if not. */
export function contractAvailable(): boolean {
  const ctx = contractContext() as DigitalOceanContractContext | undefined
  if (ctx !== undefined && ctx.switchboardUrl !== null && ctx.specPath !== null) return true
  console.warn(`DigitalOcean contract check skipped: ${ctx?.reason ?? 'no context from globalSetup'}`)
  return false
}

function switchboard(): string {
  const url = contractContext().switchboardUrl
  if (url === null) throw new Error(`DigitalOcean contract check unavailable: ${contractContext().reason ?? 'unknown reason'}`)
  return url
}

/** Base URL that reaches `fake` through Prism's validating proxy. Starts Prism on first use (~9 s). */
export async function viaPrism(fake: FakeDigitalOcean): Promise<string> {
  const res = await fetch(`${switchboard()}/__switchboard/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: fake.id, port: fake.port }),
  })
  if (!res.ok) throw new Error(`switchboard refused to register the fake: ${res.status} ${await res.text()}`)
  const body = (await res.json()) as { baseUrl: string }
  return body.baseUrl
}

/** Every exchange Prism saw for this fake, with its violations (allowlisted ones included). */
export async function observedExchanges(fake: FakeDigitalOcean): Promise<ObservedViolations[]> {
  const res = await fetch(`${switchboard()}/__switchboard/violations/${fake.id}`)
  const body = (await res.json()) as { observed: ObservedViolations[] }
  return body.observed
}

/** Violations that are not explained by KNOWN_SPEC_QUIRKS, formatted for a readable test failure. */
export async function unexplainedViolations(fake: FakeDigitalOcean): Promise<string[]> {
  const out: string[] = []
  for (const seen of await observedExchanges(fake)) {
    for (const v of seen.violations) {
      if (KNOWN_SPEC_QUIRKS.some((q) => q.test(v, seen))) continue
      out.push(`${seen.method} ${seen.path} → ${seen.status}: [${v.location.join('.')}] ${v.message}`)
    }
  }
  return out
}

export async function releaseFromPrism(fake: FakeDigitalOcean): Promise<void> {
  await fetch(`${switchboard()}/__switchboard/unregister`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: fake.id }),
  })
}
