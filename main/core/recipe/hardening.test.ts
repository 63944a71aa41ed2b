// The droplet hardening, shown working rather than read: (a) the UFW rules, spliced into Debian's real
// before.rules by the setup script's own sed line and loaded with iptables-restore in a private network
// namespace this test creates (never the host's); (b) the Guacamole entrypoint hook run against Tomcat's
// real default server.xml, taken from Debian's tomcat10 package.
import { spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { FIREWALL_RULES_MARKER, firewallRules, guacamoleEntrypointHook } from './hardening'
import { DROPLET_PATHS, LOOPBACK_ONLY_TCP_PORTS, METADATA_ADDRESS } from './paths'
import { setupScript } from './setup-script'
import { hasTool } from './testing/require-tool'

const DEBIAN_BEFORE_RULES = '/usr/share/ufw/iptables/before.rules'
const PYTHON = '/usr/bin/python3'
const DEBS = join(import.meta.dirname, '..', '..', '..', '.tools', 'debs')

const dirs: string[] = []
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })))
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}

/** Fails under CI, skips with the sentence otherwise (the require-tool pattern, for more than a tool). */
function need(missing: string | null, skip: (note: string) => void): void {
  if (missing === null) return
  if (process.env.CI) throw new Error(missing)
  skip(missing)
}

function firewallPrerequisite(): string | null {
  if (process.getuid?.() !== 0) return 'the firewall test needs root (it creates its own network namespaces): run it as root'
  if (!existsSync(DEBIAN_BEFORE_RULES)) return `${DEBIAN_BEFORE_RULES} is missing: apt-get install ufw`
  for (const tool of ['iptables', 'iptables-restore', 'unshare', 'nsenter', 'setpriv', 'ip']) {
    if (!hasTool(tool)) return `${tool} is not installed: apt-get install iptables iproute2 util-linux`
  }
  if (!existsSync(PYTHON)) return `${PYTHON} is missing: apt-get install python3`
  return null
}

/** The setup script's own splice: the `if ! grep -q MARKER …; then sed …; fi` block of firewall(). */
function spliceBlock(beforeRules: string, rulesFile: string): string {
  const script = setupScript()
  const start = script.indexOf(`  if ! grep -q ${FIREWALL_RULES_MARKER} /etc/ufw/before.rules; then`)
  const end = script.indexOf('  fi\n', start)
  expect(start).toBeGreaterThan(0)
  const block = script.slice(start, end + '  fi\n'.length)
  expect(block).toMatch(/^\s*sed -i '\/\^# End required lines\/r /m)
  return block.replaceAll('/etc/ufw/before.rules', beforeRules).replaceAll(DROPLET_PATHS.firewallRules, rulesFile)
}

function splice(dir: string): { file: string; run: () => void } {
  const file = join(dir, 'before.rules')
  copyFileSync(DEBIAN_BEFORE_RULES, file)
  const rules = join(dir, 'ufw-before.rules')
  writeFileSync(rules, firewallRules())
  const block = spliceBlock(file, rules)
  return {
    file,
    run: () => {
      const result = spawnSync('bash', ['-c', `set -euo pipefail\n${block}`], { encoding: 'utf8' })
      expect(result.stderr).toBe('')
      expect(result.status).toBe(0)
    },
  }
}

// Loopback servers and clients for inside the namespaces: `serve HOST READYFILE PORT…`, `connect HOST PORT`.
const NET_PY = `import socket, sys, threading, time
if sys.argv[1] == "serve":
    host, ready, ports = sys.argv[2], sys.argv[3], sys.argv[4:]
    def loop(s):
        while True:
            c, _ = s.accept()
            c.close()
    for port in ports:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, int(port)))
        s.listen(16)
        threading.Thread(target=loop, args=(s,), daemon=True).start()
    open(ready, "w").close()
    time.sleep(120)
else:
    try:
        socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=1.5).close()
        print("connected")
    except socket.timeout:
        print("timeout")
        sys.exit(1)
    except OSError as e:
        print("refused" if isinstance(e, ConnectionRefusedError) else "error %s" % e)
        sys.exit(1)
`

describe('the firewall rules, loaded for real in a private network namespace', () => {
  it('splices into Debian’s before.rules once, however often the setup script runs', (ctx) => {
    need(existsSync(DEBIAN_BEFORE_RULES) ? null : `${DEBIAN_BEFORE_RULES} is missing: apt-get install ufw`, (n) => ctx.skip(n))
    const dir = tempDir('dictumal-ufw-')
    const { file, run } = splice(dir)
    const original = readFileSync(DEBIAN_BEFORE_RULES, 'utf8')
    run()
    const once = readFileSync(file, 'utf8')
    // Right after "# End required lines", before UFW's own loopback and conntrack accepts.
    const at = once.indexOf('# End required lines\n') + '# End required lines\n'.length
    expect(once.slice(at, at + firewallRules().length)).toBe(firewallRules())
    expect(once.replace(firewallRules(), '')).toBe(original)
    expect(once.indexOf(firewallRules())).toBeLessThan(once.indexOf('-A ufw-before-input -i lo -j ACCEPT'))
    run()
    run()
    expect(readFileSync(file, 'utf8')).toBe(once)
  })

  it('lets only root reach the metadata service, and keeps 4822, 5901 and 8080 to loopback', (ctx) => {
    need(firewallPrerequisite(), (n) => ctx.skip(n))
    const dir = tempDir('dictumal-netns-')
    chmodSync(dir, 0o755)
    const { file, run } = splice(dir)
    run()
    writeFileSync(join(dir, 'net.py'), NET_PY, { mode: 0o644 })
    const ports = [...LOOPBACK_ONLY_TCP_PORTS, 2222]
    // The "droplet" is the namespace unshare makes; the "outside" (and the metadata service, which the
    // kernel here cannot put on a dummy interface) is a second one at the far end of a veth pair.
    const script = `set -euo pipefail
cd ${dir}
PY=${PYTHON}
ip link set lo up
# As UFW loads it: its chains exist, before.rules restored without flushing, hooked into the built-ins.
iptables -N ufw-logging-deny
iptables-restore -n ${file}
iptables -A INPUT -j ufw-before-input
iptables -A OUTPUT -j ufw-before-output
iptables -A FORWARD -j ufw-before-forward

unshare -n sleep 120 >/dev/null 2>&1 &
OUT=$!
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
until [ "$(readlink /proc/$OUT/ns/net)" != "$(readlink /proc/self/ns/net)" ]; do sleep 0.05; done
outside() { nsenter -t "$OUT" -n "$@"; }
ip link add veth0 type veth peer name veth1
ip link set veth1 netns "$OUT"
ip addr add 192.0.2.1/24 dev veth0
ip link set veth0 up
ip route add ${METADATA_ADDRESS}/32 dev veth0
outside ip link set lo up
outside ip addr add 192.0.2.2/24 dev veth1
outside ip addr add ${METADATA_ADDRESS}/32 dev veth1
outside ip link set veth1 up

# Simple commands, so $(jobs -p) are the servers themselves; no output, so nothing holds our stdout.
$PY net.py serve 0.0.0.0 ready.droplet ${ports.join(' ')} >/dev/null 2>&1 &
nsenter -t "$OUT" -n $PY net.py serve ${METADATA_ADDRESS} ready.metadata 80 >/dev/null 2>&1 &
until [ -e ready.droplet ] && [ -e ready.metadata ]; do sleep 0.05; done

check() { local name=$1; shift; echo "RESULT $name $("$@" || true)"; }
nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups "$@"; }
check metadata-root $PY net.py connect ${METADATA_ADDRESS} 80
check metadata-nobody nobody $PY net.py connect ${METADATA_ADDRESS} 80
check loopback-nobody nobody $PY net.py connect 127.0.0.1 8080
for port in ${ports.join(' ')}; do
  check "outside-$port" outside $PY net.py connect 192.0.2.1 "$port"
  check "loopback-$port" $PY net.py connect 127.0.0.1 "$port"
done
`
    const result = spawnSync('unshare', ['-n', 'bash', '-c', script], { encoding: 'utf8', timeout: 60_000 })
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
    const results = Object.fromEntries(
      result.stdout
        .split('\n')
        .filter((line) => line.startsWith('RESULT '))
        .map((line) => line.split(' ').slice(1, 3) as [string, string]),
    )
    expect(results).toEqual({
      'metadata-root': 'connected',
      'metadata-nobody': 'refused',
      'loopback-nobody': 'connected',
      'outside-4822': 'timeout',
      'outside-5901': 'timeout',
      'outside-8080': 'timeout',
      // A port UFW would decide about: the rules above do not touch it (so the drops are theirs).
      'outside-2222': 'connected',
      'loopback-4822': 'connected',
      'loopback-5901': 'connected',
      'loopback-8080': 'connected',
      'loopback-2222': 'connected',
    })
  }, 90_000)
})

describe('the Guacamole entrypoint hook, against Tomcat’s real default server.xml', () => {
  function serverXml(dir: string): string | null {
    const deb = existsSync(DEBS) ? readdirSync(DEBS).find((name) => /^tomcat10_.*\.deb$/.test(name)) : undefined
    if (!deb) return null
    const extracted = join(dir, 'deb')
    const result = spawnSync('dpkg-deb', ['-x', join(DEBS, deb), extracted], { encoding: 'utf8' })
    expect(result.status).toBe(0)
    const found = spawnSync('find', [extracted, '-name', 'server.xml', '-path', '*etc*'], { encoding: 'utf8' }).stdout.trim().split('\n')[0]
    return found ? found : null
  }

  it('turns off the access log and binds the 8080 connector to 127.0.0.1, also when run twice', (ctx) => {
    need(hasTool('xmlstarlet') ? null : 'xmlstarlet is not installed: apt-get install xmlstarlet', (n) => ctx.skip(n))
    need(hasTool('dpkg-deb') ? null : 'dpkg-deb is not installed (a Debian machine has it)', (n) => ctx.skip(n))
    const dir = tempDir('dictumal-tomcat-')
    const original = serverXml(dir)
    need(original ? null : `no tomcat10 .deb in ${DEBS}: run (cd .tools/debs && apt-get download tomcat10), as .ci/run does`, (n) =>
      ctx.skip(n),
    )
    const base = join(dir, 'catalina-base')
    mkdirSync(join(base, 'conf'), { recursive: true })
    const conf = join(base, 'conf', 'server.xml')
    copyFileSync(original!, conf)
    const hook = join(dir, '800-dictumal.sh')
    writeFileSync(hook, guacamoleEntrypointHook())
    const sel = (xpath: string): string =>
      spawnSync('xmlstarlet', ['sel', '-t', '-v', xpath, conf], { encoding: 'utf8' }).stdout.trim()

    // What the hook is up against: Tomcat logs every request line (with ?data=) and listens everywhere.
    expect(Number(sel('count(//Valve[@className="org.apache.catalina.valves.AccessLogValve"])'))).toBe(1)
    expect(sel('/Server/Service/Connector[@port="8080"]/@address')).toBe('')

    for (let round = 1; round <= 2; round++) {
      // The image's entrypoint sources the hook with bash after it generates CATALINA_BASE.
      const result = spawnSync('bash', ['-c', `set -e; source ${hook}`], {
        env: { ...process.env, CATALINA_BASE: base },
        encoding: 'utf8',
      })
      expect(result.stderr, `round ${round}`).toBe('')
      expect(result.status, `round ${round}`).toBe(0)
      expect(spawnSync('xmlstarlet', ['val', '-q', conf]).status, `round ${round}`).toBe(0)
      expect(Number(sel('count(//Valve[@className="org.apache.catalina.valves.AccessLogValve"])')), `round ${round}`).toBe(0)
      expect(sel('/Server/Service/Connector[@port="8080"]/@address'), `round ${round}`).toBe('127.0.0.1')
      expect(Number(sel('count(/Server/Service/Connector[@port="8080"]/@address)')), `round ${round}`).toBe(1)
      // Everything else about the connector and the server stays as Tomcat ships it.
      expect(sel('/Server/Service/Connector[@port="8080"]/@protocol')).toBe('HTTP/1.1')
      expect(sel('count(//Host)')).toBe('1')
    }
  })

  it('runs after the image configures REMOTE_IP_VALVE_ENABLED, so the client-IP valve survives', (ctx) => {
    need(hasTool('xmlstarlet') ? null : 'xmlstarlet is not installed: apt-get install xmlstarlet', (n) => ctx.skip(n))
    const dir = tempDir('dictumal-tomcat-order-')
    const original = serverXml(dir)
    need(original ? null : `no tomcat10 .deb in ${DEBS}: run (cd .tools/debs && apt-get download tomcat10), as .ci/run does`, (n) =>
      ctx.skip(n),
    )
    // The image sources entrypoint.d/*.sh in name order: 500 makes CATALINA_BASE, 700 applies the
    // *_ENABLED features (REMOTE_IP_VALVE_ adds a Valve in front of each element under <Host>), 999 starts Tomcat.
    const mounted = /\/opt\/guacamole\/entrypoint\.d\/([^:/]+\.sh):ro/.exec(setupScript())?.[1] ?? ''
    expect(mounted > '700-configure-features.sh' && mounted < '999-start-tomcat.sh', mounted).toBe(true)
    const remoteIpStep =
      `xmlstarlet edit --inplace --insert '/Server/Service/Engine/Host/*' --type elem -n Valve ` +
      `--insert '/Server/Service/Engine/Host/Valve[not(@className)]' --type attr -n className ` +
      `-v org.apache.catalina.valves.RemoteIpValve "$CATALINA_BASE/conf/server.xml"`
    const hook = join(dir, 'hook.sh')
    writeFileSync(hook, guacamoleEntrypointHook())
    const boot = (steps: string[]): string => {
      const base = join(dir, `base-${steps.join('-').replaceAll(/\W/g, '')}`)
      mkdirSync(join(base, 'conf'), { recursive: true })
      copyFileSync(original!, join(base, 'conf', 'server.xml'))
      const result = spawnSync('bash', ['-ec', steps.join('\n')], { env: { ...process.env, CATALINA_BASE: base }, encoding: 'utf8' })
      expect(result.stderr).toBe('')
      const sel = (xpath: string) =>
        spawnSync('xmlstarlet', ['sel', '-t', '-v', xpath, join(base, 'conf', 'server.xml')], { encoding: 'utf8' }).stdout.trim()
      return [
        sel('count(//Valve[@className="org.apache.catalina.valves.RemoteIpValve"])'),
        sel('count(//Valve[@className="org.apache.catalina.valves.AccessLogValve"])'),
        sel('/Server/Service/Connector[@port="8080"]/@address'),
      ].join(' ')
    }
    // In the order the setup script mounts it: one RemoteIpValve, no access log, loopback only.
    expect(boot([remoteIpStep, `source ${hook}`])).toBe('1 0 127.0.0.1')
    // Sourced before the feature step instead, the hook would leave <Host> with no element to insert before.
    expect(boot([`source ${hook}`, remoteIpStep])).toBe('0 0 127.0.0.1')
  })
})
