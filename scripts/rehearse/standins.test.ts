// The rehearsal's stand-ins must behave like the real images where the recipe depends on them:
// guacd's address parsing (musl getopt over the image's entrypoint) and Guacamole's JSON-auth check
// (against the known-answer vector in the droplet-stack reference, made with the openssl CLI).
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { encryptGuacamoleToken } from '../../main/core/guacamole-token'
import { guacamoleEntrypointHook } from '../../main/core/recipe/hardening'

const STANDINS = join(import.meta.dirname, 'standins')
const python = spawnSync('python3', ['--version']).status === 0

function guacdBind(args: string[]): string {
  return execFileSync('python3', [join(STANDINS, 'guacd.py'), ...args], { env: { ...process.env, STANDIN_MODE: '--parse', LOG_LEVEL: 'info' } })
    .toString()
    .trim()
}

function verify(token: string, key: string, nowMs: number): { code: number | null; out: string } {
  const r = spawnSync('python3', [join(STANDINS, 'guacamole.py'), '--verify', token, String(nowMs)], { env: { ...process.env, JSON_SECRET_KEY: key } })
  return { code: r.status, out: r.stdout.toString().trim() }
}

const KEY = '4c0b569e4c96df157eee1b65dd0e4d41'
const JSON_TEXT =
  '{"username":"alice","expires":1767225600000,"connections":{"desktop":{"protocol":"vnc","parameters":{"hostname":"172.17.0.1","port":"5901","password":"vncpass1"}}}}'
const TOKEN =
  'yq1VL/eUV2Czfid83LJsc/QfQjCZ+MFMVWuRNs7jCZLQGzV3He4NJZz2AeN+C2D0TEA8XdRsznev/IMZmLpX9mvTNEVajWYawZUB/Zp42iVkG+YADpd93ULLRUAvGxx+n6qjtCnfunxdLNCd4EOiIIiwyEZxS/XvTPuRSvga7IYsRlzV+T0SXYMZJH1mroTQKP2pnKL/KR47azjgPdaVf52LAzOLaenCq77ZIVDH5tG+3fLx6QE8J9Qed684sK3bUaJQgSPFZAYOS0NbI2Uq1A=='

describe.runIf(python)('rehearsal stand-ins', () => {
  it('guacd: a command starting with a path stays on 0.0.0.0; options alone move it to loopback (later -b wins)', () => {
    expect(guacdBind(['/opt/guacamole/sbin/guacd', '-b', '127.0.0.1', '-L', 'info', '-f'])).toBe('0.0.0.0 4822 info')
    expect(guacdBind(['-b', '127.0.0.1'])).toBe('127.0.0.1 4822 info')
    expect(guacdBind(['-b', '127.0.0.1', '-L', 'debug', '-f'])).toBe('127.0.0.1 4822 debug')
    expect(guacdBind([])).toBe('0.0.0.0 4822 info')
  })

  it('guacamole: accepts the known-answer token before it expires, and refuses it after, with a wrong key or altered', () => {
    const ok = verify(TOKEN, KEY, 1767225600000 - 1)
    expect(ok.code).toBe(0)
    expect(JSON.parse(ok.out)).toEqual(JSON.parse(JSON_TEXT))
    expect(verify(TOKEN, KEY, 1767225600000 + 1)).toEqual({ code: 3, out: 'rejected: expired' })
    expect(verify(TOKEN, '4c0b569e4c96df157eee1b65dd0e4d42', 0).code).toBe(3)
    const altered = `${TOKEN.slice(0, 10)}${TOKEN[10] === 'A' ? 'B' : 'A'}${TOKEN.slice(11)}`
    expect(verify(altered, KEY, 0).code).toBe(3)
    expect(verify('not base64!', KEY, 0).code).toBe(3)
  })

  it("guacamole: accepts what the app's own token code makes", () => {
    const key = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'
    const json = JSON.stringify({ username: 'dictumal', expires: Date.now() + 60_000, singleUse: true, connections: { desktop: { protocol: 'vnc', parameters: { hostname: '127.0.0.1', port: '5901' } } } })
    const r = verify(encryptGuacamoleToken(json, key), key, Date.now())
    expect(r.code).toBe(0)
    expect(JSON.parse(r.out)).toEqual(JSON.parse(json))
  })
})

describe.runIf(python)('rehearsal stand-ins: the Guacamole image entrypoint', () => {
  function tomcatSettings(volumes: (dir: string) => string[]): string {
    const dir = mkdtempSync(join(tmpdir(), 'dictumal-standin-'))
    try {
      mkdirSync(join(dir, 'bin'))
      copyFileSync(join(STANDINS, 'xmlstarlet'), join(dir, 'bin', 'xmlstarlet'))
      chmodSync(join(dir, 'bin', 'xmlstarlet'), 0o755)
      writeFileSync(join(dir, 'hook.sh'), guacamoleEntrypointHook())
      const script = 'import os, sys; sys.path.insert(0, sys.argv[1]); import guacamole as g; print(g.tomcat_settings(g.entrypoint(os.environ)))'
      return execFileSync('python3', ['-c', script, STANDINS], {
        env: { ...process.env, STANDIN_IMAGE_BIN: join(dir, 'bin'), STANDIN_ROOT: join(dir, 'root'), STANDIN_VOLUMES: JSON.stringify(volumes(dir)) },
      })
        .toString()
        .trim()
        .replace(dir, 'DIR')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }

  it("stock server.xml: every address and an access log; the recipe's entrypoint.d hook: loopback and no access log", () => {
    expect(tomcatSettings(() => [])).toMatch(/^\('0\.0\.0\.0', 'DIR\/root\/tmp\/catalina-base\.\w+\/logs\/localhost_access_log\.%s\.txt'\)$/)
    expect(tomcatSettings((dir) => [`${join(dir, 'hook.sh')}:/opt/guacamole/entrypoint.d/600-dictumal.sh:ro`])).toBe("('127.0.0.1', None)")
  })
})
