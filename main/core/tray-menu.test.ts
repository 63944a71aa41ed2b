import { describe, expect, it } from 'vitest'
import type { Deployment, DeploymentStage, DeploymentStatus } from '../../preload/contract'
import { buildTrayMenu, notificationFor, trackTransitions } from './tray-menu'

let counter = 0
function deployment(overrides: Partial<Deployment> & { status: DeploymentStatus }): Deployment {
  counter += 1
  const stage: DeploymentStage = overrides.status === 'ACTIVE' ? 'active' : 'provisioning-droplet'
  return {
    id: `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`,
    constitutionId: 'c1',
    name: `desk-${counter}`,
    region: 'nyc3',
    size: 's-2vcpu-4gb',
    image: 'ubuntu-24-04-x64',
    dropletId: 1000 + counter,
    ip: '203.0.113.7',
    stage,
    percent: overrides.status === 'ACTIVE' ? 100 : 22,
    checks: { vnc5901: false, http80: false, guacHttp8080: false, guacHttps443: false },
    error: null,
    certFingerprint: 'sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    createdAt: `2026-11-27T10:00:${String(counter % 60).padStart(2, '0')}Z`,
    updatedAt: '2026-11-27T10:00:00Z',
    activeAt: null,
    destroyedAt: null,
    fastStart: false,
    snapshotId: null,
    snapshotSizeGigabytes: null,
    hibernatedAt: null,
    hibernation: null,
    ...overrides,
  }
}

describe('buildTrayMenu', () => {
  it('lists live deployments with status, percent while deploying, and Open when active', () => {
    const active = deployment({ status: 'ACTIVE', name: 'writer', createdAt: '2026-11-27T10:00:03Z' })
    const configuring = deployment({ status: 'CONFIGURING', name: 'lab', percent: 62, stage: 'starting-guacamole', createdAt: '2026-11-27T10:00:02Z' })
    const provisioning = deployment({ status: 'PROVISIONING', name: 'fresh', percent: 22, createdAt: '2026-11-27T10:00:04Z' })
    const failed = deployment({ status: 'ERROR', name: 'broken', error: 'Setup step install-docker failed', createdAt: '2026-11-27T10:00:01Z' })
    const gone = deployment({ status: 'DESTROYED', name: 'old', createdAt: '2026-11-27T10:00:05Z' })

    const menu = buildTrayMenu([active, configuring, failed, gone, provisioning])
    const labels = menu.map((item) => item.label)

    expect(labels).toEqual([
      'fresh — Provisioning 22 %',
      'writer — Active · Open',
      'lab — Configuring 62 %',
      'broken — Error',
      '',
      'New deployment…',
      'Show Dictumal',
      '',
      'Quit',
    ])
    expect(labels.join('\n')).not.toContain('old')
    const open = menu.find((item) => item.label.startsWith('writer'))
    expect(open?.action).toEqual({ kind: 'open', deploymentId: active.id })
    expect(open?.enabled).toBe(true)
    // Only ACTIVE desktops can be opened; the others lead to the window (progress, Destroy).
    const opens = menu.filter((item) => item.action?.kind === 'open')
    expect(opens).toHaveLength(1)
    expect(menu.find((item) => item.label.startsWith('broken'))?.action).toEqual({ kind: 'show-window' })
  })

  it('ends with New deployment, Show Dictumal and Quit, with separators in between', () => {
    const menu = buildTrayMenu([])
    expect(menu[0]).toMatchObject({ label: 'No desktops yet', enabled: false })
    expect(menu[0]?.action).toBeUndefined()
    expect(menu.slice(1).map((item) => item.type ?? item.action?.kind)).toEqual([
      'separator',
      'new-deployment',
      'show-window',
      'separator',
      'quit',
    ])
    const ids = menu.map((item) => item.id)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('shows only the non-destroyed list, and the empty state when everything is destroyed', () => {
    const menu = buildTrayMenu([deployment({ status: 'DESTROYED' }), deployment({ status: 'DESTROYED' })])
    expect(menu[0]?.label).toBe('No desktops yet')
  })

  it('rounds and clamps percent, and tames hostile names', () => {
    const menu = buildTrayMenu([
      deployment({ status: 'CONFIGURING', name: 'a\nb\u0007c', percent: 47.6, createdAt: '2026-11-27T10:00:09Z' }),
      deployment({ status: 'PROVISIONING', name: 'x'.repeat(200), percent: 140, createdAt: '2026-11-27T10:00:08Z' }),
      deployment({ status: 'PROVISIONING', name: '   ', percent: Number.NaN, createdAt: '2026-11-27T10:00:07Z' }),
    ])
    expect(menu[0]?.label).toBe('a b c — Configuring 48 %')
    expect(menu[1]?.label).toBe(`${'x'.repeat(39)}… — Provisioning 100 %`)
    expect(menu[2]?.label).toBe('Untitled desktop — Provisioning 0 %')
  })

  it('gives every deployment a stable, distinct id', () => {
    const a = deployment({ status: 'ACTIVE' })
    const b = deployment({ status: 'ACTIVE', name: a.name })
    const first = buildTrayMenu([a, b]).map((item) => item.id)
    const again = buildTrayMenu([b, a]).map((item) => item.id)
    expect(first).toEqual(again)
    expect(first).toContain(`deployment:${a.id}`)
    expect(first).toContain(`deployment:${b.id}`)
  })
})

describe('notificationFor', () => {
  it('announces the transition into ACTIVE', () => {
    const before = deployment({ status: 'CONFIGURING', name: 'writer', percent: 92 })
    const after = { ...before, status: 'ACTIVE' as const, stage: 'active' as const, percent: 100 }
    expect(notificationFor(before, after)).toEqual({
      kind: 'active',
      deploymentId: before.id,
      title: 'writer is ready',
      body: 'Your desktop is up. Click to open it.',
    })
  })

  it('announces ERROR with its reason and the cost warning', () => {
    const before = deployment({ status: 'CONFIGURING', name: 'lab' })
    const after = { ...before, status: 'ERROR' as const, error: 'Setup did not finish in 20 minutes; see /var/log/dictumal-init.log' }
    const note = notificationFor(before, after)
    expect(note?.kind).toBe('error')
    expect(note?.title).toBe('lab failed')
    expect(note?.body).toContain('/var/log/dictumal-init.log')
    expect(note?.body).toMatch(/still costs money/)
  })

  it('never repeats, and stays silent for other changes and first sightings', () => {
    const active = deployment({ status: 'ACTIVE' })
    expect(notificationFor(active, { ...active, updatedAt: '2026-11-27T11:00:00Z' })).toBeNull()
    expect(notificationFor(undefined, active)).toBeNull()
    const provisioning = deployment({ status: 'PROVISIONING' })
    expect(notificationFor(provisioning, { ...provisioning, status: 'CONFIGURING', percent: 48 })).toBeNull()
    expect(notificationFor(active, { ...active, status: 'DESTROYED' })).toBeNull()
    const failed = deployment({ status: 'ERROR', error: 'x' })
    expect(notificationFor(failed, { ...failed, percent: 50 })).toBeNull()
    // A different record under the same variable is not a transition of this one.
    expect(notificationFor(provisioning, active)).toBeNull()
  })

  it('keeps secrets out of the body even if an error message carried one', () => {
    const before = deployment({ status: 'CONFIGURING' })
    const token = `dop_v1_${'a1b2c3d4'.repeat(8)}`
    const after = {
      ...before,
      status: 'ERROR' as const,
      error: `Request failed with Bearer ${token} at https://203.0.113.7/guacamole/?data=eyJzZWNyZXQiOiJ4In0%3D&x=1`,
    }
    const note = notificationFor(before, after)
    expect(note).not.toBeNull()
    const text = `${note?.title} ${note?.body}`
    expect(text).not.toContain(token)
    expect(text).not.toContain('a1b2c3d4')
    expect(text).not.toContain('eyJzZWNyZXQiOiJ4In0')
  })

  it('keeps a long error to one short line, with a fallback when there is none', () => {
    const before = deployment({ status: 'PROVISIONING' })
    const long = notificationFor(before, { ...before, status: 'ERROR', error: `line one\n${'x'.repeat(500)}` })
    expect(long?.body).not.toContain('\n')
    expect(long?.body.length).toBeLessThan(260)
    const empty = notificationFor(before, { ...before, status: 'ERROR', error: null })
    expect(empty?.body).toBe('Setup failed. The droplet still costs money until you destroy it.')
  })
})

describe('trackTransitions', () => {
  it('stays quiet on the first snapshot and announces each later transition once', () => {
    const track = trackTransitions()
    const ready = deployment({ status: 'ACTIVE', name: 'already-up' })
    const busy = deployment({ status: 'CONFIGURING', name: 'busy', percent: 92 })
    expect(track([ready, busy])).toEqual([])

    const nowActive = { ...busy, status: 'ACTIVE' as const, percent: 100 }
    expect(track([ready, nowActive]).map((n) => [n.kind, n.deploymentId])).toEqual([['active', busy.id]])
    expect(track([ready, nowActive])).toEqual([])
  })

  it('announces a deployment that appears mid-session only when it later changes', () => {
    const track = trackTransitions()
    expect(track([])).toEqual([])
    const fresh = deployment({ status: 'PROVISIONING', name: 'fresh' })
    expect(track([fresh])).toEqual([])
    const failed = { ...fresh, status: 'ERROR' as const, error: 'Droplet did not become active in 10 minutes' }
    const notes = track([failed])
    expect(notes).toHaveLength(1)
    expect(notes[0]?.kind).toBe('error')
    expect(notes[0]?.body).toMatch(/still costs money/)
  })
})
