// The engine's readiness probes over real sockets (SPEC §4): which checks run when, one pinned keep-alive
// agent per deployment, and the port the engine sees (scriptable in unit tests without sockets).
import type { Agent } from 'undici'
import type { ReadinessChecks } from '../../../preload/contract'
import type { Beacon, BeaconStep } from '../recipe'
import { nearGateway } from './probe-schedule'
import { fetchBeacon, gatewayAcceptsToken, pinnedAgent, probeGuacamoleHttp, probeGuacamoleHttps } from './probes'

export interface ProbeResult {
  checks: ReadinessChecks
  failedStep: Beacon['failed']
  /** The beacon's step and when it began (droplet clock), for the probe timing; null when no beacon answered. */
  beacon?: { step: BeaconStep; stepStartedAt: number | null; timings?: Beacon['timings'] } | null
}

/** The readiness probes, injectable so unit tests can script a droplet without sockets. */
export interface ProberPort {
  probe(ip: string, fingerprint: string): Promise<ProbeResult>
  acceptsToken(ip: string, fingerprint: string, token: string): Promise<boolean>
  close(): Promise<void>
}

/** An agent not asked for this long belongs to a deployment that settled; checked at most this often. */
const AGENT_IDLE_MS = 2 * 60_000
const AGENT_SWEEP_MS = 10_000

/** Real sockets: the probes of SPEC §4, HTTPS pinned in the handshake. */
export class NetworkProber implements ProberPort {
  /** One keep-alive agent per certificate (so per deployment), with when it was last asked for. */
  private readonly agents = new Map<string, { agent: Agent; usedAt: number }>()
  /** Per address, what the last probe saw: whether a beacon answered and whether the gateway was near. */
  private readonly last = new Map<string, { beacon: boolean; near: boolean }>()
  private sweptAt = 0

  constructor(private readonly now: () => number = Date.now) {}

  private agent(fingerprint: string): Agent {
    const now = this.now()
    this.sweep(now)
    let entry = this.agents.get(fingerprint)
    if (!entry) {
      entry = { agent: pinnedAgent(fingerprint, undefined, { keepAlive: true }), usedAt: now }
      this.agents.set(fingerprint, entry)
    }
    entry.usedAt = now
    return entry.agent
  }

  /** Deployments that settled (ACTIVE, ERROR, destroyed) are probed no more: their agents are closed. */
  private sweep(now: number): void {
    if (now - this.sweptAt < AGENT_SWEEP_MS) return
    this.sweptAt = now
    for (const [fingerprint, entry] of this.agents) {
      if (now - entry.usedAt < AGENT_IDLE_MS) continue
      this.agents.delete(fingerprint)
      entry.agent.close().catch(() => {})
    }
  }

  /** How many agents are open (for tests). */
  get openAgents(): number {
    return this.agents.size
  }

  async probe(ip: string, fingerprint: string): Promise<ProbeResult> {
    // VNC is only ever learnt from the beacon: TigerVNC black-marks every new connection from an address,
    // so nothing of ours connects to 5901. On a real droplet UFW drops 8080, so that probe only times out;
    // when the beacon answers, its own view is used and the outside probe is not waited for.
    // HTTPS is asked alongside the beacon only near the gateway (or when unsure); while the droplet installs,
    // only if the beacon's answer says it is near after all.
    const last = this.last.get(ip)
    const outside = last?.beacon === true ? null : probeGuacamoleHttp(ip)
    const early = last?.near === false ? null : probeGuacamoleHttps(ip, this.agent(fingerprint))
    const beacon = await fetchBeacon(ip)
    const b = beacon.beacon
    const [vnc, guacHttp] = b ? [b.checks.vnc5901, b.checks.guacHttp8080] : [false, await (outside ?? probeGuacamoleHttp(ip))]
    const near = nearGateway({ step: b?.step ?? null, http80: beacon.http80, guacHttp8080: guacHttp, guacHttps443: false })
    const guacHttps = early ? await early : near ? await probeGuacamoleHttps(ip, this.agent(fingerprint)) : false
    this.last.set(ip, { beacon: b !== null, near: near || guacHttps })
    const started = b ? Date.parse(b.timings?.[b.step]?.start ?? '') : Number.NaN
    return {
      checks: { vnc5901: vnc, http80: beacon.http80, guacHttp8080: guacHttp, guacHttps443: guacHttps },
      failedStep: b?.failed ?? null,
      beacon: b ? { step: b.step, stepStartedAt: Number.isFinite(started) ? started : null, timings: b.timings } : null,
    }
  }

  acceptsToken(ip: string, fingerprint: string, token: string): Promise<boolean> {
    // ACTIVE is not held up by the logout of the test session: it ends in the background.
    return gatewayAcceptsToken(ip, this.agent(fingerprint), token, undefined, { awaitLogout: false })
  }

  async close(): Promise<void> {
    const agents = [...this.agents.values()]
    this.agents.clear()
    this.last.clear()
    await Promise.all(agents.map((e) => e.agent.close().catch(() => {})))
  }
}
