// The boot rehearsal (`npm run rehearse`): the app's real droplet recipe on a real systemd, driven by
// the real engine. A Debian 12 container boots the user data the `dictumal` CLI sent to the fake
// DigitalOcean (cloud-init, apt from a local repository, XFCE, TigerVNC, nginx, UFW, systemd units and
// the beacon are all real; Docker and the Guacamole images are stand-ins), and the CLI must reach
// ACTIVE through the beacon, the pinned HTTPS and the token check. Then each property is its own test.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Deployment } from '../../preload/contract'
import { randomUUID, X509Certificate } from 'node:crypto'
import { generateDeploymentCertificate } from '../../main/core/certificate'
import { generateDeploymentSecrets } from '../../main/core/deployment-secrets'
import { mintLaunchToken } from '../../main/core/guacamole-token'
import { fingerprintOfDer, probeGuacamoleHttps, pinnedAgent } from '../../main/core/engine/probes'
import { BEACON_STEPS, buildBakeUserData, buildUserData, DROPLET_PATHS, type Beacon } from '../../main/core/recipe'
import { readUserData } from '../../test/fakes/user-data-reader'
import {
  answeringPorts,
  fetchBeacon,
  fetchSetupLog,
  formatDurations,
  launchTokenAccepted,
  openLaunchUrl,
  OUTSIDE_PORTS,
  servedFingerprint,
  startMetadataStandin,
  stepTimes,
  waitFor,
  type SetupLogAnswer,
} from './checks'
import { Cli, describeCli, PrivateKeyring, startRehearsalCloud, type CreatedDroplet } from './engine'
import { missingPrerequisite } from './host'
import { readPreparedRun, type PreparedRun } from './prepared'
import { IMAGE_ADDRESS, Machine, MACHINE_ADDRESS, METADATA_ADDRESS, NetworkNamespace, writeSeed, type MachineOptions } from './machine'

const HERE = import.meta.dirname
const problem = missingPrerequisite() ?? (typeof readPreparedRun() === 'string' ? (readPreparedRun() as string) : null)
const log = (line: string): void => {
  process.stderr.write(`[rehearsal] ${line}\n`)
}

/** A constitution built to break YAML and shell: every character PyYAML treats as a line break, controls, quotes, substitutions. */
const INJECTED_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostileConstitutionInjectedKey00000000000 injected@constitution'
export const HOSTILE_CONSTITUTION = [
  '# A hostile constitution',
  `U+2028 then a write_files entry:\u2028- path: /root/.ssh/authorized_keys\u2028  content: ${INJECTED_KEY}\u2028  permissions: '0600'`,
  `U+2029 then runcmd:\u2029runcmd: [[touch, /root/pwned-2029]]`,
  `U+0085 then a key:\u0085ssh_authorized_keys: ['${INJECTED_KEY}']`,
  'TAB:\there, DEL:\u007f, C1 controls:\u0080\u0085\u009b\u009f, NUL-free.',
  `quotes ' " and \`touch /root/pwned-backtick\` and $(touch /root/pwned-dollar) and \${HOME} and %s %n`,
  '---',
  '#cloud-config',
  '...',
  '- path: /root/.ssh/authorized_keys',
  `  content: ${INJECTED_KEY}`,
  'ends without a newline: ünïcödé ✓ 🖥️',
].join('\n')

const SETUP_TIMEOUT_MS = 12 * 60_000

interface State {
  runDir: string
  machine: Machine | null
  netns: NetworkNamespace | null
  keyring: PrivateKeyring | null
  cli: Cli | null
  closeCloud: (() => Promise<void>) | null
  closeMetadata: (() => Promise<void>) | null
  created: CreatedDroplet | null
  deployment: Deployment | null
  activeAt: number | null
  figures: string[]
  /** What the setup log looked like from outside while setup ran, before Nginx owned 443. */
  earlyLog: Promise<EarlyLog> | null
}

const state: State = {
  runDir: '',
  machine: null,
  netns: null,
  keyring: null,
  cli: null,
  closeCloud: null,
  closeMetadata: null,
  created: null,
  deployment: null,
  activeAt: null,
  figures: [],
  earlyLog: null,
}

interface EarlyLog {
  /** The beacon's step just before and just after the answers were taken. */
  steps: [string, string]
  withKey: SetupLogAnswer
  noKey: SetupLogAnswer
  wrongKey: SetupLogAnswer
  port80: SetupLogAnswer | string
  guacamoleUp: boolean
}

const NGINX_STEP = BEACON_STEPS.indexOf('configure-https')
const beforeNginx = (step: string): boolean => BEACON_STEPS.indexOf(step as (typeof BEACON_STEPS)[number]) < NGINX_STEP

/**
 * From the moment the droplet is created: polls the setup log as the app would (key from the keychain,
 * certificate pinned) until the small server answers it, then asks it everything else once, all while
 * the beacon says setup has not reached configure-https (Nginx).
 */
async function watchSetupLogBeforeNginx(userData: string): Promise<EarlyLog> {
  const read = readUserData(userData)
  const fingerprint = fingerprintOfDer(new X509Certificate(read.certPem).raw)
  const logKey = await logKeyOf(read.deploymentId, userData)
  const deadline = Date.now() + SETUP_TIMEOUT_MS
  let last = ''
  while (Date.now() < deadline) {
    const step = (await fetchBeacon(MACHINE_ADDRESS, 2000)).beacon?.step ?? 'boot'
    if (!beforeNginx(step)) throw new Error(`Setup reached ${step} before the setup log was ever served (last answer: ${last}).`)
    const withKey = await fetchSetupLog(MACHINE_ADDRESS, fingerprint, logKey, { timeoutMs: 2000 }).catch((e: unknown) => String(e))
    if (typeof withKey !== 'string' && withKey.status < 300 && withKey.body.includes('Dictumal setup starting')) {
      const wrong = `${logKey.slice(0, -1)}${logKey.endsWith('0') ? '1' : '0'}`
      const noKey = await fetchSetupLog(MACHINE_ADDRESS, fingerprint, null)
      const wrongKey = await fetchSetupLog(MACHINE_ADDRESS, fingerprint, wrong)
      const port80 = await fetchSetupLog(MACHINE_ADDRESS, fingerprint, logKey, { plainHttp: true }).catch((e: unknown) => String(e))
      const agent = pinnedAgent(fingerprint, 3000)
      const guacamoleUp = await probeGuacamoleHttps(MACHINE_ADDRESS, agent, 3000).finally(() => agent.close())
      const after = (await fetchBeacon(MACHINE_ADDRESS, 2000)).beacon?.step ?? 'boot'
      return { steps: [step, after], withKey, noKey, wrongKey, port80, guacamoleUp }
    }
    last = typeof withKey === 'string' ? withKey : `HTTP ${withKey.status}`
    await new Promise((r) => setTimeout(r, 1000))
  }
  throw new Error(`The setup log was not served within ${SETUP_TIMEOUT_MS / 1000} s (last answer: ${last}).`)
}

/**
 * The deployment's log key as the app holds it (the keychain), checked against the one the droplet got.
 * The keychain must have it: a deployment made by this build stores it (main/core/secrets.ts).
 */
async function logKeyOf(id: string, userData = state.created!.userData): Promise<string> {
  const { logKey } = await state.cli!.secrets(id)
  if (logKey === undefined) throw new Error(`The keychain entry of deployment ${id} has no logKey, so the app could not read the setup log.`)
  const onDroplet = readUserData(userData).files.get(DROPLET_PATHS.logKey)?.content.trim()
  if (onDroplet === undefined) throw new Error(`The user data carries no ${DROPLET_PATHS.logKey}.`)
  expect(logKey, 'the log key in the keychain is the one the droplet got').toBe(onDroplet)
  return logKey
}

/** The setup log after ACTIVE (Nginx), asked with the key, without, with a wrong one, and over port 80. */
async function expectSetupLogServedByNginx(): Promise<void> {
  const d = deployment()
  const logKey = await logKeyOf(d.id)
  const withKey = await fetchSetupLog(MACHINE_ADDRESS, d.certFingerprint!, logKey)
  expect(withKey.status).toBe(206)
  expect(withKey.body).toContain('Dictumal setup finished')
  expect(withKey.contentType).toBe('text/plain; charset=utf-8')
  expect(withKey.cacheControl).toBe('no-store')
  const unknown = await fetchSetupLog(MACHINE_ADDRESS, d.certFingerprint!, logKey, { path: '/dictumal/no-such-thing' })
  for (const key of [null, `${logKey.slice(0, -1)}${logKey.endsWith('0') ? '1' : '0'}`]) {
    const refused = await fetchSetupLog(MACHINE_ADDRESS, d.certFingerprint!, key)
    expect(refused.status, `key ${key === null ? 'missing' : 'wrong'}`).toBe(404)
    expect(refused.body).toBe(unknown.body)
  }
  const plain = await fetchSetupLog(MACHINE_ADDRESS, d.certFingerprint!, logKey, { plainHttp: true })
  expect(plain.status).toBe(301)
  expect(plain.body).not.toContain('Dictumal setup')
}

function cleanupSync(): void {
  state.machine?.stopSync()
  for (const m of imageMachines) m.stopSync()
  state.keyring?.close()
}

async function cleanup(): Promise<void> {
  await state.machine?.stop().catch((e: unknown) => log(`stopping the machine: ${String(e)}`))
  await Promise.all(imageMachines.map((m) => m.stop().catch(() => undefined)))
  state.machine = null
  await state.closeCloud?.().catch(() => undefined)
  await state.closeMetadata?.().catch(() => undefined)
  state.keyring?.close()
  state.keyring = null
  if (state.runDir !== '' && process.env.DICTUMAL_REHEARSAL_KEEP !== '1') rmSync(state.runDir, { recursive: true, force: true })
}

function machine(): Machine {
  if (state.machine === null) throw new Error('The machine never booted (see the first failure).')
  return state.machine
}

function deployment(): Deployment {
  if (state.deployment === null) throw new Error('The deployment never reached ACTIVE (see the first failure).')
  return state.deployment
}

async function inside(script: string, timeoutMs = 60_000): Promise<string> {
  const r = await machine().exec(script, { timeoutMs, allowFailure: true })
  if (r.code !== 0) throw new Error(`"${script}" failed inside the machine (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`)
  return r.stdout
}

async function launchUrl(): Promise<string> {
  const r = await state.cli!.run(['launch-url', deployment().id, '--target', 'ip'])
  expect(r.code, describeCli(r)).toBe(0)
  return r.stdout.trim()
}

async function gatewayWorks(timeoutMs: number): Promise<void> {
  const d = deployment()
  await waitFor('the pinned gateway accepting a launch token', timeoutMs, async () => launchTokenAccepted(MACHINE_ADDRESS, d.certFingerprint!, await launchUrl()), 2000)
}

if (problem !== null) {
  describe('boot rehearsal', () => {
    it('has what it needs to run', () => {
      throw new Error(`Cannot rehearse here: ${problem}`)
    })
  })
} else {
  describe('boot rehearsal: the droplet recipe on a real systemd, driven by the real engine', () => {
    let rootfsPath = ''
    let recipeRepoPath = ''
    let standinRepoPath = ''
    beforeAll(async () => {
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
        process.once(signal, () => {
          cleanupSync()
          process.exit(130)
        })
      }
      process.once('exit', cleanupSync)
      const started = Date.now()
      const prepared = readPreparedRun() as PreparedRun
      state.runDir = prepared.runDir
      rootfsPath = prepared.rootfs
      recipeRepoPath = prepared.recipeRepo
      standinRepoPath = prepared.standinRepo
      state.figures.push(...prepared.figures)
      state.netns = new NetworkNamespace(process.env.DICTUMAL_REHEARSAL_NETNS!)
      if (imagePathAvailable) {
        const common = { rootfs: rootfsPath, runDir: state.runDir, recipeRepo: recipeRepoPath, standinRepo: standinRepoPath, log }
        imagePath = startImagePath(common, new NetworkNamespace(process.env.DICTUMAL_REHEARSAL_IMAGE_NETNS!))
      }
      state.keyring = await PrivateKeyring.start()

      const onCreate = (created: CreatedDroplet): void => {
        state.created = created
        void startMetadataStandin(METADATA_ADDRESS, created.userData)
          .then((server) => {
            state.closeMetadata = () => new Promise<void>((resolve) => server.close(() => resolve()))
          })
          .catch((e: unknown) => log(`the metadata stand-in did not start: ${String(e)}`))
        void (async () => {
          const m = await Machine.prepare({
            name: 'rehearsal',
            rootfs: rootfsPath,
            runDir: state.runDir,
            netns: state.netns!,
            recipeRepo: recipeRepoPath,
            standinRepo: standinRepoPath,
            log,
          })
          state.machine = m
          writeSeed(m.root, { userData: created.userData, instanceId: `i-${created.droplet.id}`, hostname: created.droplet.name })
          m.boot()
          state.earlyLog = watchSetupLogBeforeNginx(created.userData)
          state.earlyLog.catch(() => undefined)
          log(`booting droplet ${created.droplet.id} (${created.droplet.name}) at ${MACHINE_ADDRESS}`)
        })().catch((e: unknown) => log(`could not boot the machine: ${String(e)}`))
      }
      const cloud = await startRehearsalCloud(onCreate)
      state.closeCloud = () => cloud.close()
      const dataDir = join(state.runDir, 'data')
      mkdirSync(dataDir, { recursive: true, mode: 0o700 })
      state.cli = new Cli(state.keyring, cloud.url, dataDir)
      const login = await state.cli.run(['login', '--token-stdin'], { input: `${cloud.token}\n` })
      expect(login.code, describeCli(login)).toBe(0)
      const body = join(state.runDir, 'hostile.md')
      writeFileSync(body, HOSTILE_CONSTITUTION)
      const added = await state.cli.run(['constitution', 'add', '--name', 'Hostile', '--body-file', body])
      expect(added.code, describeCli(added)).toBe(0)
      state.figures.push(`preparation ${((Date.now() - started) / 1000).toFixed(0)} s`)
    }, 25 * 60_000)

    afterAll(async () => {
      if (state.figures.length > 0) log(`figures:\n  ${state.figures.join('\n  ')}`)
      await cleanup()
    }, 120_000)

    describe('a droplet from the stock image (full recipe), deployed by the CLI', () => {
    afterAll(async () => {
      await state.machine?.stop().catch((e: unknown) => log(`stopping the machine: ${String(e)}`))
      state.machine = null
    }, 120_000)

    it('deploy --wait reaches ACTIVE through the real beacon, the pinned HTTPS and the token check', async () => {
      const cli = state.cli!
      const handle = cli.start(['deploy', '--constitution', 'Hostile', '--region', 'nyc3', '--size', 's-2vcpu-4gb', '--wait', '--json'], SETUP_TIMEOUT_MS)
      handle.onLine((line) => {
        try {
          const d = JSON.parse(line) as Deployment
          log(`engine: ${d.status} ${d.stage} ${d.percent}%${d.error ? ` — ${d.error}` : ''}`)
          if (d.status === 'ACTIVE' && state.activeAt === null) state.activeAt = Date.now()
        } catch {
          log(`engine printed: ${line}`)
        }
      })
      const result = await handle.done
      const records = handle.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Deployment)
      const last = records.at(-1)
      if (state.machine !== null) {
        const tailLog = await machine().exec(`tail -n 40 ${DROPLET_PATHS.log}`, { allowFailure: true }).catch(() => null)
        if (result.code !== 0) log(`setup log tail:\n${tailLog?.stdout ?? '(unreadable)'}`)
      }
      expect(result.code, describeCli(result)).toBe(0)
      expect(last?.status).toBe('ACTIVE')
      state.deployment = last ?? null
      const bootAt = machine().bootTimes[0]!
      state.figures.push(`boot → ACTIVE ${((state.activeAt! - bootAt) / 1000).toFixed(0)} s`)
    }, SETUP_TIMEOUT_MS + 60_000)

    it('during setup, before Nginx, the small server serves the setup log over the pinned HTTPS to the key only, not on port 80', async () => {
      deployment()
      const early = await state.earlyLog!
      log(
        `setup log before Nginx (steps ${early.steps.join(' → ')}): key ${early.withKey.status} (${early.withKey.body.length} bytes), ` +
          `no key ${early.noKey.status}, wrong key ${early.wrongKey.status}, port 80 ${typeof early.port80 === 'string' ? early.port80 : early.port80.status}, ` +
          `/guacamole/ up: ${early.guacamoleUp}`,
      )
      expect(early.steps.every(beforeNginx), early.steps.join(' → ')).toBe(true)
      expect([200, 206]).toContain(early.withKey.status)
      expect(early.withKey.body).toContain('Dictumal setup starting')
      expect(early.withKey.contentType).toBe('text/plain; charset=utf-8')
      expect(early.withKey.cacheControl).toBe('no-store')
      expect(early.noKey.status).toBe(404)
      expect(early.wrongKey.status).toBe(404)
      expect(early.wrongKey.body).toBe(early.noKey.body)
      // Port 80 is the beacon's python http.server then: 404, and never the log.
      expect(typeof early.port80 === 'string' ? early.port80 : early.port80.status).toBe(404)
      expect(typeof early.port80 === 'string' ? '' : early.port80.body).not.toContain('Dictumal setup')
      // The engine's HTTPS readiness probe does not take the small server for Guacamole.
      expect(early.guacamoleUp).toBe(false)
    })

    it('once ACTIVE, Nginx serves the setup log on 443 to the key only (404 otherwise, 301 on port 80), and logs no key', async () => {
      await expectSetupLogServedByNginx()
      expect((await inside('systemctl is-active dictumal-setup-log.service || true')).trim()).toBe('inactive')
      expect((await inside(`stat -c '%a %U %G' ${DROPLET_PATHS.log}`)).trim()).toBe('640 root www-data')
      const logKey = await logKeyOf(deployment().id)
      expect(await inside('cat /var/log/nginx/*.log; journalctl --no-pager -o cat | tail -n 5000')).not.toContain(logKey)
    })

    it('the setup log holds no secret (passwords, Guacamole key, log key, TLS key)', async () => {
      const d = deployment()
      const secrets = await state.cli!.secrets(d.id)
      const initLog = readFileSync(join(machine().root, DROPLET_PATHS.log.slice(1)), 'utf8')
      expect(initLog).toContain('Dictumal setup finished')
      const keyPem = readFileSync(join(machine().root, DROPLET_PATHS.keyPem.slice(1)), 'utf8')
      for (const [name, value] of [
        ['VNC password', secrets.vncPassword],
        ['desktop password', secrets.userPassword],
        ['Guacamole key', secrets.guacamoleKey],
        ['log key', await logKeyOf(d.id)],
        ['TLS key', keyPem.split('\n')[1] ?? 'no key line'],
      ] as const) {
        expect(initLog.includes(value), name).toBe(false)
      }
    })

    it('the beacon says done, with no failure', async () => {
      deployment()
      const { beacon } = await fetchBeacon(MACHINE_ADDRESS, 5000)
      expect(beacon?.step).toBe('done')
      expect(beacon?.failed).toBeNull()
    })

    it('prints each recipe step duration and the total from boot to ACTIVE (figures, not gates)', async () => {
      const { beacon } = await fetchBeacon(MACHINE_ADDRESS, 5000)
      const initLog = readFileSync(join(machine().root, DROPLET_PATHS.log.slice(1)), 'utf8')
      const times = stepTimes(beacon, initLog)
      expect(times.length).toBeGreaterThan(0)
      const bootAt = machine().bootTimes[0]!
      const firstStep = times[0]!.start
      log(
        `recipe step durations:\n${formatDurations(times)}\n  ${'boot → setup start'.padEnd(20)} ${((firstStep - bootAt) / 1000).toFixed(0).padStart(4)} s` +
          `\n  ${'boot → ACTIVE'.padEnd(20)} ${(((state.activeAt ?? Date.now()) - bootAt) / 1000).toFixed(0).padStart(4)} s`,
      )
    })

    it('from outside, only 22, 80 and 443 answer', async () => {
      deployment()
      expect(await answeringPorts(MACHINE_ADDRESS)).toEqual([22, 80, 443])
      expect(OUTSIDE_PORTS).toContain(5901)
    })

    it('inside, VNC (5901) and guacd (4822) listen on loopback only; 8080 too, or at least unreachable from outside', async () => {
      const listeners = (await inside('ss -Hltn')).split('\n').map((l) => l.trim().split(/\s+/)[3] ?? '').filter((a) => a !== '')
      const on = (port: number): string[] => listeners.filter((a) => a.endsWith(`:${port}`))
      const loopback = (address: string): boolean => address.startsWith('127.') || address.startsWith('[::1]')
      for (const port of [5901, 4822]) {
        expect(on(port), `listeners on ${port}: ${listeners.join(' ')}`).not.toEqual([])
        expect(on(port).filter((a) => !loopback(a)), `non-loopback listeners on ${port}`).toEqual([])
      }
      expect(on(8080)).not.toEqual([])
      if (on(8080).some((a) => !loopback(a))) expect(await answeringPorts(MACHINE_ADDRESS, [8080])).toEqual([])
    })

    it("a VNC login with the deployment's password succeeds after the engine's probes have run", async () => {
      const { vncPassword } = await state.cli!.secrets(deployment().id)
      const r = await machine().inNetwork(process.execPath, [join(HERE, 'rfb-login.mjs'), '127.0.0.1', '5901'], { input: vncPassword })
      const result = JSON.parse(r.stdout.trim() || '{}') as { authenticated?: boolean; reason?: string; error?: string; width?: number; height?: number }
      expect(result, r.stderr).toMatchObject({ authenticated: true })
      expect(`${result.width}x${result.height}`).toBe('1600x900')
    })

    it('the certificate served on 443 is the pinned one', async () => {
      expect(await servedFingerprint(MACHINE_ADDRESS)).toBe(deployment().certFingerprint)
    })

    it('the constitution arrives byte for byte on the desktop', () => {
      deployment()
      const onDesktop = readFileSync(join(machine().root, DROPLET_PATHS.desktopConstitution.slice(1)))
      expect(onDesktop.equals(Buffer.from(HOSTILE_CONSTITUTION, 'utf8'))).toBe(true)
    })

    it("cloud-init (PyYAML) sees exactly the recipe's write_files paths, and nothing from the constitution ran or reached root's keys", async () => {
      const userData = state.created!.userData
      const ours = ((parseYaml(userData) as { write_files?: Array<{ path: string }> }).write_files ?? []).map((f) => f.path).sort()
      const script = `python3 -c 'import json,yaml; d=yaml.safe_load(open("/var/lib/cloud/instance/user-data.txt")); print(json.dumps(sorted(f["path"] for f in d.get("write_files") or [])))'`
      const theirs = JSON.parse(await inside(script)) as string[]
      expect(theirs).toEqual(ours)
      expect(theirs.filter((p) => p.startsWith('/root/') || p.includes('authorized_keys') && !p.startsWith('/etc/dictumal/'))).toEqual([])
      const rootKeys = join(machine().root, 'root/.ssh/authorized_keys')
      expect(existsSync(rootKeys) ? readFileSync(rootKeys, 'utf8') : '').not.toContain('injected@constitution')
      const userKeys = join(machine().root, 'home/dictumal/.ssh/authorized_keys')
      expect(existsSync(userKeys) ? readFileSync(userKeys, 'utf8') : '').not.toContain('injected@constitution')
      for (const name of ['pwned-2029', 'pwned-backtick', 'pwned-dollar']) expect(existsSync(join(machine().root, 'root', name)), name).toBe(false)
    })

    it('the setup secrets (/etc/dictumal/secrets.env) are gone once setup is done', () => {
      deployment()
      expect(existsSync(join(machine().root, DROPLET_PATHS.secretsEnv.slice(1)))).toBe(false)
    })

    it('only root may reach the metadata service (169.254.169.254), which serves the user data', async () => {
      deployment()
      const url = `http://${METADATA_ADDRESS}/metadata/v1/user-data`
      const fetchAs = async (user?: string): Promise<string> =>
        (await machine().exec(`curl -s -o /dev/null -w '%{http_code}' --max-time 5 ${url}`, { user, allowFailure: true })).stdout.trim()
      await waitFor('the metadata stand-in answering root', 20_000, async () => (await fetchAs()) === '200').catch(async (e: unknown) => {
        const r = await machine().exec(`curl -sS -o /dev/null --max-time 5 ${url}`, { allowFailure: true })
        throw new Error(`${String(e)} curl as root: ${r.stderr.trim()}`)
      })
      expect(await fetchAs('nobody'), 'user nobody').toBe('000')
      expect(await fetchAs('dictumal'), 'the desktop user').toBe('000')
    })

    it('no launch token reaches a log on the droplet (nginx, Guacamole)', async () => {
      const d = deployment()
      const url = await launchUrl()
      const data = new URL(url).searchParams.get('data') ?? ''
      expect(data).not.toBe('')
      expect(await openLaunchUrl(MACHINE_ADDRESS, d.certFingerprint!, url)).toBeLessThan(400)
      const logs = await inside(
        'cat /var/log/nginx/*.log /var/lib/docker-standin/containers/*.root/tmp/catalina-base.*/logs/* 2>/dev/null; journalctl --no-pager -o cat 2>/dev/null | tail -n 5000',
      )
      const needles = [data, encodeURIComponent(data), data.slice(0, 24)]
      for (const needle of needles) expect(logs.includes(needle), `a log holds the launch token (${needle.slice(0, 8)}…)`).toBe(false)
    })

    it('after a reboot the beacon, the pinned 443 and the token check answer again', async () => {
      deployment()
      await machine().reboot()
      await machine().waitBooted(180_000).catch((e: unknown) => log(String(e)))
      const { beacon } = await waitFor('the beacon after the reboot', 180_000, async () => {
        const b = await fetchBeacon(MACHINE_ADDRESS, 3000)
        return b.beacon !== null ? b : null
      })
      expect(beacon?.step).toBe('done')
      expect(beacon?.failed).toBeNull()
      expect(await servedFingerprint(MACHINE_ADDRESS)).toBe(deployment().certFingerprint)
      await gatewayWorks(180_000)
      const { vncPassword } = await state.cli!.secrets(deployment().id)
      await waitFor('VNC after the reboot', 120_000, async () => {
        const r = await machine().inNetwork(process.execPath, [join(HERE, 'rfb-login.mjs'), '127.0.0.1', '5901'], { input: vncPassword })
        return (JSON.parse(r.stdout.trim() || '{}') as { authenticated?: boolean }).authenticated === true
      }, 5000)
    }, 8 * 60_000)

    it('after the reboot Nginx still serves the setup log to the key only', async () => {
      await expectSetupLogServedByNginx()
    })

    it("a second run of the setup script converges to done and keeps a user's own authorized_keys line", async () => {
      deployment()
      const userLine = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIUserAddedThisKeyThemselves000000000000000 added-by-user'
      await inside(`printf '%s\\n' '${userLine}' >> /home/dictumal/.ssh/authorized_keys`)
      const r = await machine().exec(DROPLET_PATHS.setupScript, { timeoutMs: SETUP_TIMEOUT_MS, allowFailure: true })
      const tailLog = await inside(`tail -n 30 ${DROPLET_PATHS.log}`)
      expect(r.code, `setup re-run exit code; log tail:\n${tailLog}`).toBe(0)
      const { beacon } = await fetchBeacon(MACHINE_ADDRESS, 5000)
      expect(beacon?.step).toBe('done')
      expect(beacon?.failed).toBeNull()
      expect(await inside('cat /home/dictumal/.ssh/authorized_keys')).toContain(userLine)
      await gatewayWorks(120_000)
    }, SETUP_TIMEOUT_MS + 60_000)

    it('after a reboot before Nginx owned 443, bootcmd brings the small server back and it serves the setup log', async () => {
      const d = deployment()
      // As if setup had failed or been cut before configure-https: Nginx off, its marker gone.
      await inside(`systemctl disable --now nginx && rm -f ${DROPLET_PATHS.stateDir}/nginx`)
      await machine().reboot()
      await machine().waitBooted(180_000).catch((e: unknown) => log(String(e)))
      const logKey = await logKeyOf(d.id)
      const served = await waitFor('the setup log from the small server after the reboot', 120_000, async () => {
        const answer = await fetchSetupLog(MACHINE_ADDRESS, d.certFingerprint!, logKey, { timeoutMs: 3000 })
        return answer.status === 206 ? answer : null
      }, 2000)
      expect(served.body).toContain('Dictumal setup finished')
      expect((await inside('systemctl is-active dictumal-setup-log.service nginx.service || true')).trim().split('\n')).toEqual(['active', 'inactive'])
      // Least privilege, as running: a dynamic user, not root, holding only CAP_NET_BIND_SERVICE.
      const status = await inside('cat /proc/$(systemctl show -p MainPID --value dictumal-setup-log.service)/status')
      expect(/^Uid:\s+(\d+)/m.exec(status)?.[1]).not.toBe('0')
      expect(/^CapEff:\s+(\w+)/m.exec(status)?.[1]).toBe('0000000000000400')
      // Its caps as systemd took them (the unit is accepted with them, and the server started under
      // them), and as the kernel holds them where this container lets systemd set them (cgroup v2, or
      // v1 with writable pids/memory hierarchies; a droplet is v2).
      const limits = await inside('systemctl show -p TasksMax -p MemoryMax -p ControlGroup dictumal-setup-log.service')
      const shown = Object.fromEntries(limits.trim().split('\n').map((line) => line.split(/=(.*)/s).slice(0, 2)))
      expect(shown.TasksMax).toBe('64')
      expect(shown.MemoryMax).toBe(String(64 * 1024 * 1024))
      const cgroup = shown.ControlGroup ?? ''
      const kernel = await inside(
        `for f in /sys/fs/cgroup${cgroup}/pids.max /sys/fs/cgroup${cgroup}/memory.max /sys/fs/cgroup/pids${cgroup}/pids.max /sys/fs/cgroup/memory${cgroup}/memory.limit_in_bytes; do [ -r "$f" ] && echo "$f=$(cat "$f")"; done; true`,
      )
      log(`the small server's limits in the kernel: ${kernel.trim().replaceAll('\n', ', ') || 'none this container lets systemd set'}`)
      for (const line of kernel.trim().split('\n').filter(Boolean)) {
        expect(line).toMatch(line.includes('pids') ? /=64$/ : /=67108864$/)
      }
      expect((await fetchSetupLog(MACHINE_ADDRESS, d.certFingerprint!, null)).status).toBe(404)
      const agent = pinnedAgent(d.certFingerprint!, 3000)
      expect(await probeGuacamoleHttps(MACHINE_ADDRESS, agent, 3000).finally(() => agent.close())).toBe(false)
    }, 6 * 60_000)
    })

    // The image path: bake a disk with the install half, then boot a copy of it with personalise-only
    // user data, as a droplet made from a desktop image would. It runs at 192.0.2.3 in its own
    // namespace, at the same time as the deployment above (started in beforeAll), so it adds little time.
    describe.runIf(imagePathAvailable)('a droplet from a baked image (install half, then personalise), booted alongside', () => {
      afterAll(() => {
        if (imagePaths.length > 0) log(`image path critical paths (while the deployment above ran too):\n  ${imagePaths.join('\n  ')}`)
      })

      it('bake: the install half boots to done, with nothing personal on the disk', async () => {
        const bake = await imagePath!.bake
        expect(bake.beacon.failed).toBeNull()
        expect(bake.beacon.step).toBe('done')
        expect(bake.personal, 'personal files on the baked disk').toEqual([])
      })

      it('personalise: a copy of the baked disk, booted with personalise-only user data, opens the gateway to a token', async () => {
        const personalise = await imagePath!.personalise
        expect(personalise.beacon.failed).toBeNull()
        expect(personalise.beacon.step).toBe('done')
        expect(personalise.constitutionIntact).toBe(true)
        expect(personalise.setupLog, 'the setup log with the personalised deployment’s key').toBe(206)
      })
    })
  })
}

interface ImagePath {
  bake: Promise<{ beacon: Beacon; personal: string[] }>
  personalise: Promise<{ beacon: Beacon; constitutionIntact: boolean; setupLog: number }>
}

const imagePathAvailable = typeof buildBakeUserData === 'function'
let imagePath: ImagePath | null = null
const imagePaths: string[] = []
const imageMachines: Machine[] = []

/** Bakes, then personalises a copy, in the image namespace; each half resolves with what the tests check. */
function startImagePath(options: Omit<MachineOptions, 'name' | 'netns'>, netns: NetworkNamespace): ImagePath {
  const bake = (async () => {
    const m = await Machine.prepare({ ...options, name: 'bake', netns })
    imageMachines.push(m)
    writeSeed(m.root, { userData: buildBakeUserData(), instanceId: 'i-rehearsal-bake', hostname: 'dictumal-image-build' })
    m.boot()
    const beacon = await waitForBeaconDone(IMAGE_ADDRESS, SETUP_TIMEOUT_MS)
    imagePaths.push(`bake (boot → install half done): ${((Date.now() - m.bootTimes[0]!) / 1000).toFixed(0)} s`)
    const personal = ['home/dictumal', DROPLET_PATHS.secretsEnv.slice(1), DROPLET_PATHS.constitution.slice(1), DROPLET_PATHS.logKey.slice(1)].filter((p) =>
      existsSync(join(m.root, p)),
    )
    const upper = m.upper
    await m.stop()
    return { beacon, personal, upper }
  })()
  const personalise = (async () => {
    const { upper } = await bake
    const certificate = await generateDeploymentCertificate()
    const secrets = generateDeploymentSecrets()
    const userData = buildUserData(
      { deploymentId: randomUUID(), constitution: { name: 'Hostile', body: HOSTILE_CONSTITUTION }, secrets, certificate },
      { mode: 'personalise' },
    )
    const m = await Machine.prepare({ ...options, name: 'personalise', rootfs: `${upper}:${options.rootfs}`, netns })
    imageMachines.push(m)
    writeSeed(m.root, { userData, instanceId: 'i-rehearsal-personalise', hostname: 'dictumal-personalised' })
    m.boot()
    const beacon = await waitForBeaconDone(IMAGE_ADDRESS, SETUP_TIMEOUT_MS)
    const token = mintLaunchToken({ keyHex: secrets.guacamoleKey, vncPassword: secrets.vncPassword, now: Date.now() })
    await waitFor('the personalised gateway accepting a token', 120_000, () =>
      launchTokenAccepted(IMAGE_ADDRESS, certificate.fingerprint, `https://${IMAGE_ADDRESS}/guacamole/?data=${encodeURIComponent(token)}`),
    )
    imagePaths.push(`personalise (boot → setup done and gateway up): ${((Date.now() - m.bootTimes[0]!) / 1000).toFixed(0)} s`)
    const constitutionIntact = readFileSync(join(m.root, DROPLET_PATHS.desktopConstitution.slice(1))).equals(Buffer.from(HOSTILE_CONSTITUTION, 'utf8'))
    const setupLog = (await fetchSetupLog(IMAGE_ADDRESS, certificate.fingerprint, secrets.logKey!)).status
    await m.stop()
    return { beacon, constitutionIntact, setupLog }
  })()
  // The tests await these; until then a failure must not count as unhandled.
  bake.catch(() => undefined)
  personalise.catch(() => undefined)
  return { bake, personalise }
}

async function waitForBeaconDone(address: string, timeoutMs: number): Promise<Beacon> {
  return waitFor(`the beacon at ${address} saying done (or failed)`, timeoutMs, async () => {
    const { beacon } = await fetchBeacon(address, 3000)
    return beacon !== null && (beacon.step === 'done' || beacon.failed !== null) ? beacon : null
  }, 3000)
}
