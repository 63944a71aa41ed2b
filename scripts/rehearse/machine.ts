// One rehearsal machine: a fresh overlay on the cached rootfs, booted with systemd-nspawn inside a
// private network namespace (192.0.2.2; its only peer is the client namespace's 192.0.2.1, and there is
// no default route, so it reaches nothing else), seeded with user data through cloud-init's NoCloud datasource.
// A reboot inside makes nspawn exit 133 and the machine boots again. Every exit path cleans up.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { mountOverlay, mountsUnder, REPO_MOUNT, STANDIN_MOUNT, unmount } from './image'
import { run, type CommandResult } from './host'

export const HOST_ADDRESS = '192.0.2.1'
export const MACHINE_ADDRESS = '192.0.2.2'
/** The image path's machine (bake, then personalise), in a namespace of its own. */
export const IMAGE_ADDRESS = '192.0.2.3'
export const METADATA_ADDRESS = '169.254.169.254'

export interface Seed {
  userData: string
  /** DigitalOcean's vendor data gives a bare image things like a resolvable FQDN. */
  vendorData?: string
  instanceId?: string
  hostname?: string
}

export const DIGITALOCEAN_LIKE_VENDOR_DATA = '#cloud-config\nmanage_etc_hosts: true\n'

/** Writes the NoCloud seed into a machine's root before it boots (or before a reboot into a new instance). */
export function writeSeed(root: string, seed: Seed): void {
  const dir = join(root, 'var/lib/cloud/seed/nocloud')
  mkdirSync(dir, { recursive: true })
  const host = seed.hostname ?? 'rehearsal'
  writeFileSync(join(dir, 'meta-data'), `instance-id: ${seed.instanceId ?? `i-rehearsal-${Date.now()}`}\nlocal-hostname: ${host}\n`)
  writeFileSync(join(dir, 'user-data'), seed.userData, { mode: 0o600 })
  writeFileSync(join(dir, 'vendor-data'), seed.vendorData ?? DIGITALOCEAN_LIKE_VENDOR_DATA)
}

/** The apt sources of a rehearsal machine: the two local repositories, nothing else. */
function writeAptSources(root: string): void {
  const list = join(root, 'etc/apt/sources.list')
  writeFileSync(list, `deb [trusted=yes] file:${REPO_MOUNT} ./\ndeb [trusted=yes] file:${STANDIN_MOUNT} ./\n`)
  const dir = join(root, 'etc/apt/sources.list.d')
  if (existsSync(dir)) for (const name of readdirSync(dir)) rmSync(join(dir, name), { force: true })
}

/** The machine's network namespace, made by run.sh: 192.0.2.2 on eth0 (a veth to the client's 192.0.2.1), a route to 169.254.169.254 on it. */
export class NetworkNamespace {
  constructor(readonly name: string) {}
  get path(): string {
    return `/run/netns/${this.name}`
  }
}

export interface MachineOptions {
  name: string
  rootfs: string
  runDir: string
  netns: NetworkNamespace
  recipeRepo: string
  standinRepo: string
  log?: (line: string) => void
}

export class Machine {
  readonly root: string
  readonly upper: string
  readonly consoleLog: string
  private nspawn: ChildProcess | null = null
  private boots = 0
  private stopping = false
  private exited: Promise<number | null> = Promise.resolve(null)
  /** Host time (ms) each boot started. */
  readonly bootTimes: number[] = []
  private readonly log: (line: string) => void

  private constructor(
    readonly options: MachineOptions,
    mounted: { merged: string; upper: string },
  ) {
    this.root = mounted.merged
    this.upper = mounted.upper
    this.consoleLog = join(options.runDir, `${options.name}-console.log`)
    this.log = options.log ?? (() => undefined)
  }

  /** A fresh overlay on the rootfs, with the rehearsal's apt sources; nothing booted yet. */
  static async prepare(options: MachineOptions): Promise<Machine> {
    const base = join(options.runDir, options.name)
    const mounted = await mountOverlay(options.rootfs, base)
    const machine = new Machine(options, mounted)
    writeAptSources(machine.root)
    return machine
  }

  get bootCount(): number {
    return this.boots
  }

  /** Boots the machine; boots it again whenever it reboots (nspawn exit 133), until stop(). */
  boot(): void {
    this.stopping = false
    this.launch()
  }

  private launch(): void {
    this.boots += 1
    this.bootTimes.push(Date.now())
    const fd = openSync(this.consoleLog, 'a')
    const args = [
      '--quiet',
      '--boot',
      '--register=no',
      '--keep-unit',
      `--machine=${this.options.name}`,
      `--network-namespace-path=${this.options.netns.path}`,
      '--capability=CAP_NET_ADMIN',
      '--console=read-only',
      `--bind-ro=${this.options.recipeRepo}:${REPO_MOUNT}`,
      `--bind-ro=${this.options.standinRepo}:${STANDIN_MOUNT}`,
      '-D',
      this.root,
    ]
    const child = spawn('systemd-nspawn', args, { stdio: ['ignore', fd, fd], env: { ...process.env, SYSTEMD_NSPAWN_TMPFS_TMP: '0' } })
    closeSync(fd)
    this.nspawn = child
    this.exited = new Promise((resolve) => {
      child.on('exit', (code) => {
        this.nspawn = null
        this.log(`${this.options.name}: systemd-nspawn exited with ${code}`)
        if (code === 133 && !this.stopping) this.launch()
        resolve(code)
      })
    })
  }

  /** PID (on the host) of the container's systemd, or null while none runs. */
  pid1(): number | null {
    const nspawnPid = this.nspawn?.pid
    if (nspawnPid === undefined) return null
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue
      try {
        const status = readFileSync(`/proc/${entry}/status`, 'utf8')
        const ppid = /^PPid:\s+(\d+)/m.exec(status)?.[1]
        const nspid = /^NSpid:\s+(.+)$/m.exec(status)?.[1]?.trim().split(/\s+/)
        if (Number(ppid) === nspawnPid && nspid !== undefined && nspid.length > 1 && nspid[nspid.length - 1] === '1') return Number(entry)
      } catch {
        // the process went away
      }
    }
    return null
  }

  /** Runs a shell command inside the container (all its namespaces), bounded in time. */
  async exec(script: string, options: { timeoutMs?: number; input?: string; allowFailure?: boolean; user?: string } = {}): Promise<CommandResult> {
    const pid = this.pid1()
    if (pid === null) throw new Error(`${this.options.name} is not running, so "${script.slice(0, 60)}" cannot run in it.`)
    const inner = options.user === undefined ? ['bash', '-c', script] : ['runuser', '-u', options.user, '--', 'bash', '-c', script]
    return run(
      'nsenter',
      ['-t', String(pid), '-m', '-u', '-i', '-n', '-p', '-C', '-r', '-w', '--', '/usr/bin/env', '-i', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8', ...inner],
      { timeoutMs: options.timeoutMs ?? 60_000, input: options.input, allowFailure: options.allowFailure },
    )
  }

  /** Runs a host program in the container's network namespace only (e.g. node, to speak RFB to loopback-only VNC). */
  async inNetwork(command: string, args: string[], options: { timeoutMs?: number; input?: string } = {}): Promise<CommandResult> {
    const pid = this.pid1()
    if (pid === null) throw new Error(`${this.options.name} is not running.`)
    return run('nsenter', ['-t', String(pid), '-n', '--', command, ...args], { timeoutMs: options.timeoutMs ?? 30_000, input: options.input, allowFailure: true })
  }

  /** Waits until systemd inside says the boot is over (running or degraded). */
  async waitBooted(timeoutMs = 120_000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    let last = ''
    while (Date.now() < deadline) {
      if (this.pid1() !== null) {
        const r = await this.exec('systemctl is-system-running', { allowFailure: true, timeoutMs: 10_000 }).catch(() => null)
        last = r?.stdout.trim() ?? ''
        if (last === 'running' || last === 'degraded') return last
      }
      await delay(500)
    }
    throw new Error(`${this.options.name} did not finish booting within ${timeoutMs / 1000} s (systemd says "${last}"); see ${this.consoleLog}.`)
  }

  /** Reboots from inside and waits for the next boot to start. */
  async reboot(timeoutMs = 120_000): Promise<void> {
    const before = this.boots
    await this.exec('systemctl reboot', { allowFailure: true, timeoutMs: 20_000 }).catch(() => null)
    const deadline = Date.now() + timeoutMs
    while (this.boots === before || this.pid1() === null) {
      if (Date.now() > deadline) throw new Error(`${this.options.name} did not come back from a reboot within ${timeoutMs / 1000} s.`)
      await delay(250)
    }
  }

  /** Powers the machine off (bounded), then unmounts its overlay. */
  async stop(timeoutMs = 60_000): Promise<void> {
    this.stopping = true
    const child = this.nspawn
    if (child !== null) {
      await this.exec('systemctl poweroff', { allowFailure: true, timeoutMs: 10_000 }).catch(() => null)
      const done = await Promise.race([this.exited.then(() => true), delay(timeoutMs).then(() => false)])
      if (!done && child.pid !== undefined) {
        child.kill('SIGKILL')
        await Promise.race([this.exited, delay(10_000)])
      }
    }
    await unmount(this.root)
  }

  /** Last-resort cleanup for process exit: kill nspawn (and so the container) and lazily unmount. */
  stopSync(): void {
    this.stopping = true
    // Killing the container's PID 1 ends every process in its PID namespace.
    const init = this.pid1()
    if (init !== null) {
      try {
        process.kill(init, 'SIGKILL')
      } catch {
        // gone
      }
    }
    const pid = this.nspawn?.pid
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // gone
      }
    }
    for (const m of mountsUnder(this.root).reverse()) {
      try {
        execFileSync('umount', ['-l', m], { stdio: 'ignore', timeout: 10_000 })
      } catch {
        // best effort
      }
    }
  }
}
