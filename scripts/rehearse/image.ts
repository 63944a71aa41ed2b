// The rehearsal's machine image and its local apt repository, both cached outside the clone and
// keyed by what they contain, so a fresh machine builds them and a warm one reuses them.
// - rootfs: Debian 12 from build-rootfs.sh (key: that script).
// - recipe repository: every .deb the recipe's own apt steps install, downloaded inside a throwaway
//   overlay of the rootfs (key: the rootfs key and the package lists read from the recipe).
// - stand-in repository: a `docker.io` package built for each run from standins/ (cheap, never cached).
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, copyFileSync, chmodSync, renameSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { RECIPE_APT_PACKAGES, setupScript } from '../../main/core/recipe/setup-script'
import { hostMirrors, run } from './host'

const HERE = dirname(fileURLToPath(import.meta.url))
export const CACHE_DIR = process.env.DICTUMAL_REHEARSAL_CACHE ?? '/var/cache/dictumal-rehearsal'
/** Where the two repositories appear inside the container (bind-mounted read-only). */
export const REPO_MOUNT = '/srv/dictumal-rehearsal/recipe'
export const STANDIN_MOUNT = '/srv/dictumal-rehearsal/standins'
/** Packages the recipe installs that the rehearsal stands in for instead of downloading. */
const STOOD_IN = new Set(['docker.io'])

function hash(parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16)
}

export interface InstallGroup {
  recommends: boolean
  packages: string[]
}

/**
 * What the recipe's apt steps install, read from the recipe itself: every `apt-get install` line of the
 * setup script (with or without recommends, as the line says) plus RECIPE_APT_PACKAGES.
 */
export function recipeInstallGroups(script: string = setupScript()): InstallGroup[] {
  const joined = script.replace(/\\\n/g, ' ')
  const groups = new Map<boolean, Set<string>>()
  for (const line of joined.split('\n')) {
    const m = /(?:apt-get|\$\{APT\[@\]\}"?)\s+(?:[^|;&]*?\s)?install\s+([^|;&#]*)/.exec(line)
    if (!m) continue
    const words = m[1]!.trim().split(/\s+/)
    const recommends = !words.includes('--no-install-recommends')
    const packages = words.filter((w) => /^[a-z0-9][a-z0-9+.-]+$/.test(w) && !STOOD_IN.has(w))
    if (packages.length === 0) continue
    const set = groups.get(recommends) ?? new Set<string>()
    for (const p of packages) set.add(p)
    groups.set(recommends, set)
  }
  const noRecommends = groups.get(false) ?? new Set<string>()
  for (const p of RECIPE_APT_PACKAGES) if (!(groups.get(true)?.has(p) ?? false) && !STOOD_IN.has(p)) noRecommends.add(p)
  groups.set(false, noRecommends)
  return [...groups.entries()].map(([recommends, set]) => ({ recommends, packages: [...set].sort() })).filter((g) => g.packages.length > 0)
}

export function rootfsKey(): string {
  return hash(['rootfs', readFileSync(join(HERE, 'build-rootfs.sh'), 'utf8')])
}

export interface Timed<T> {
  value: T
  built: boolean
  ms: number
}

async function timed<T>(f: () => Promise<{ value: T; built: boolean }>): Promise<Timed<T>> {
  const start = Date.now()
  const r = await f()
  return { ...r, ms: Date.now() - start }
}

/** The cached Debian 12 rootfs (read-only: boots use an overlay on it), built when absent. */
export function ensureRootfs(log: (line: string) => void = () => undefined): Promise<Timed<string>> {
  return timed(async () => {
    mkdirSync(CACHE_DIR, { recursive: true })
    const dest = join(CACHE_DIR, `rootfs-${rootfsKey()}`)
    if (existsSync(join(dest, 'etc', 'os-release'))) return { value: dest, built: false }
    const { debian, security } = hostMirrors()
    log(`building the Debian 12 rootfs with debootstrap into ${dest} (a few minutes, once)`)
    await run('bash', [join(HERE, 'build-rootfs.sh'), dest, debian, ...(security === null ? [] : [security])], { timeoutMs: 20 * 60_000 })
    return { value: dest, built: true }
  })
}

export async function mountOverlay(lower: string, base: string): Promise<{ merged: string; upper: string }> {
  const upper = join(base, 'upper')
  const work = join(base, 'work')
  const merged = join(base, 'root')
  for (const d of [upper, work, merged]) mkdirSync(d, { recursive: true })
  await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged])
  return { merged, upper }
}

export async function unmount(path: string): Promise<void> {
  for (const mounted of mountsUnder(path).reverse()) {
    await run('umount', [mounted], { allowFailure: true, timeoutMs: 30_000 })
    if (mountsUnder(mounted).length > 0) await run('umount', ['-l', mounted], { allowFailure: true })
  }
}

export function mountsUnder(path: string): string[] {
  const text = readFileSync('/proc/self/mounts', 'utf8')
  return text
    .split('\n')
    .map((l) => l.split(' ')[1]?.replace(/\\040/g, ' ') ?? '')
    .filter((m) => m === path || m.startsWith(`${path}/`))
}

/** The local repository of what the recipe installs, downloaded once through a chroot of the rootfs. */
export function ensureRecipeRepository(rootfs: string, log: (line: string) => void = () => undefined): Promise<Timed<string>> {
  return timed(async () => {
    const groups = recipeInstallGroups()
    const key = hash(['repo-v1', rootfsKey(), JSON.stringify(groups)])
    const dest = join(CACHE_DIR, `repo-${key}`)
    if (existsSync(join(dest, 'Packages'))) return { value: dest, built: false }
    log(`downloading the recipe's packages (${groups.map((g) => g.packages.length).reduce((a, b) => a + b, 0)} named) into ${dest}`)
    const scratch = join(CACHE_DIR, `scratch-${process.pid}`)
    rmSync(scratch, { recursive: true, force: true })
    const { merged } = await mountOverlay(rootfs, scratch)
    try {
      const { debian, security } = hostMirrors()
      const sources = [`deb ${debian} bookworm main`, `deb ${debian} bookworm-updates main`]
      if (security !== null) sources.push(`deb ${security} bookworm-security main`)
      writeFileSync(join(merged, 'etc/apt/sources.list'), `${sources.join('\n')}\n`)
      copyFileSync('/etc/resolv.conf', join(merged, 'etc/resolv.conf'))
      const apt = ['chroot', merged, 'apt-get', '-q', '-o', 'Acquire::Retries=3']
      await run(apt[0]!, [...apt.slice(1), 'update'], { timeoutMs: 5 * 60_000 })
      for (const group of groups) {
        const flags = group.recommends ? [] : ['--no-install-recommends']
        await run(apt[0]!, [...apt.slice(1), 'install', '-y', '--download-only', ...flags, ...group.packages], {
          timeoutMs: 15 * 60_000,
          env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
        })
      }
      const partial = `${dest}.partial`
      rmSync(partial, { recursive: true, force: true })
      mkdirSync(partial, { recursive: true })
      const archives = join(merged, 'var/cache/apt/archives')
      for (const name of readdirSync(archives)) if (name.endsWith('.deb')) copyFileSync(join(archives, name), join(partial, name))
      await scanPackages(partial)
      renameSync(partial, dest)
    } finally {
      await unmount(merged)
      rmSync(scratch, { recursive: true, force: true })
    }
    return { value: dest, built: true }
  })
}

async function scanPackages(dir: string): Promise<void> {
  const { stdout } = await run('dpkg-scanpackages', ['--multiversion', '.', '/dev/null'], { cwd: dir, timeoutMs: 5 * 60_000 })
  writeFileSync(join(dir, 'Packages'), stdout)
}

/**
 * Builds the stand-in `docker.io` package (docker CLI shim, docker.service, the two Guacamole
 * stand-ins) into `dir` and indexes it, so the recipe's own `apt-get install docker.io` installs it.
 */
export async function buildStandinRepository(dir: string): Promise<string> {
  const pkg = join(dir, 'build')
  const lib = join(pkg, 'usr/lib/docker-standin')
  for (const d of [join(pkg, 'DEBIAN'), join(pkg, 'usr/bin'), join(lib, 'image-bin'), join(pkg, 'lib/systemd/system')]) mkdirSync(d, { recursive: true })
  const src = join(HERE, 'standins')
  const install = (from: string, to: string, mode: number): void => {
    copyFileSync(join(src, from), to)
    chmodSync(to, mode)
  }
  install('docker', join(pkg, 'usr/bin/docker'), 0o755)
  install('container', join(lib, 'container'), 0o755)
  install('dockerd', join(lib, 'dockerd'), 0o755)
  install('guacd.py', join(lib, 'guacd.py'), 0o644)
  install('guacamole.py', join(lib, 'guacamole.py'), 0o644)
  // The image's own tool for its entrypoint hooks: on the stand-in's PATH only, never the droplet's.
  install('xmlstarlet', join(lib, 'image-bin/xmlstarlet'), 0o755)
  install('docker.service', join(pkg, 'lib/systemd/system/docker.service'), 0o644)
  writeFileSync(
    join(pkg, 'DEBIAN/control'),
    [
      'Package: docker.io',
      'Version: 26.1.5+dfsg1-9+rehearsal1',
      'Architecture: all',
      'Maintainer: Dictumal rehearsal <maintainers@dictumal.invalid>',
      'Depends: python3, openssl',
      'Provides: docker',
      'Section: admin',
      'Priority: optional',
      'Description: stand-in for Docker in the Dictumal boot rehearsal',
      ' Runs guacamole/guacd:1.6.0 and guacamole/guacamole:1.6.0 stand-ins as systemd units.',
      '',
    ].join('\n'),
  )
  // Like Debian's docker.io: enabled and started on install, unless policy-rc.d says no.
  writeFileSync(
    join(pkg, 'DEBIAN/postinst'),
    '#!/bin/sh\nset -e\nif [ "$1" = configure ]; then\n  deb-systemd-helper enable docker.service >/dev/null || true\n' +
      '  if [ -d /run/systemd/system ]; then\n    systemctl --system daemon-reload >/dev/null || true\n' +
      '    deb-systemd-invoke start docker.service >/dev/null || true\n  fi\nfi\n',
  )
  chmodSync(join(pkg, 'DEBIAN/postinst'), 0o755)
  const repo = join(dir, 'repo')
  mkdirSync(repo, { recursive: true })
  await run('dpkg-deb', ['--root-owner-group', '--build', pkg, join(repo, 'docker.io_rehearsal_all.deb')])
  await scanPackages(repo)
  rmSync(pkg, { recursive: true, force: true })
  return repo
}
