import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readUserData, type UserDataContents } from '../../../test/fakes/user-data-reader'
import { generateDeploymentCertificate, type DeploymentCertificate } from '../certificate'
import { generateDeploymentSecrets, type DeploymentSecrets } from '../deployment-secrets'
import { bootcmdScript } from './beacon'
import { sha512Crypt } from './password-hash'
import { NGINX_SETUP_LOG_CLOSED, nginxSetupLogAuth, setupLogServerScript, setupLogServerUnit } from './setup-log-server'
import { DROPLET_PATHS, GUACAMOLE_IMAGE, GUACD_IMAGE } from './paths'
import { requireTool } from './testing/require-tool'
import { buildBakeUserData, buildUserData, SSHD_DROP_IN, type UserDataInput } from './user-data'
import { InvalidRecipeInputError, MAX_USER_DATA_BYTES, UserDataTooLargeError } from './validation'

const ID = '3f2a9c1e-7b4d-4c2a-9e1f-0a1b2c3d4e5f'
const ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKq5v9bJ0d1mJp3kZC3xQ0nq0rC8yq2fZQH3y7r1o2c3 alice@laptop'
const NASTY_BODY = [
  '# Constitution of the Dictumal Desktop',
  '',
  'Article 1: "quotes", \'apostrophes\', `backticks`, $HOME, $(rm -rf /), \\backslash',
  '---',
  '- a list item: with colon',
  '\tTabbed line with trailing spaces   ',
  'Ünïcödé — emoji 🗳️ and CJK 憲法',
  'key: value # not a comment',
  '|',
  '',
].join('\n')

let cert: DeploymentCertificate
let otherCert: DeploymentCertificate
let base: UserDataInput
const tmp = mkdtempSync(join(tmpdir(), 'dictumal-userdata-'))
/** Debian's python3, which has PyYAML (cloud-init's loader); a pyenv python3 on PATH may not. */
const PYTHON = '/usr/bin/python3'
const PRINTABLE_ASCII = /^[\x20-\x7e\n]*$/

beforeAll(async () => {
  cert = await generateDeploymentCertificate({ deploymentId: ID })
  otherCert = await generateDeploymentCertificate({ deploymentId: ID })
  base = {
    deploymentId: ID,
    constitution: { name: 'Founding Charter', body: NASTY_BODY },
    secrets: generateDeploymentSecrets(),
    certificate: { certPem: cert.certPem, keyPem: cert.keyPem },
  }
})
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function bigBody(bytes: number): string {
  const line = 'We the people of the droplet hold these truths to be self-evident, and write them down.\n'
  return line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes)
}

function toolOrSkip(name: string, ctx: { skip: (note?: string) => void }): void {
  requireTool(name, (note) => ctx.skip(note))
}

function pythonOrSkip(ctx: { skip: (note?: string) => void }): void {
  if (existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import yaml']).status === 0) return
  const note = `${PYTHON} with PyYAML is missing: apt-get install python3-yaml (cloud-init brings it)`
  if (process.env.CI) throw new Error(note)
  ctx.skip(note)
}

/** Secret values as they could appear in a document: in clear, and base64 at each of the three alignments. */
function secretForms(value: string): string[] {
  const forms = [value]
  for (const pad of ['', 'a', 'ab']) {
    const b64 = Buffer.from(pad + value).toString('base64')
    // Drop the characters that depend on the neighbouring bytes at either end.
    const skip = Math.ceil((pad.length * 4) / 3)
    forms.push(b64.slice(skip + 1, -4))
  }
  return forms.filter((form) => form.length >= 8)
}

describe('buildUserData', () => {
  // 20 KiB since the setup log server (its Python script and unit, ~3.5 KiB compressed) came along.
  it('stays well under DigitalOcean’s limit for an ordinary constitution (≤ 20 KiB)', () => {
    const userData = buildUserData({ ...base, constitution: { name: 'Charter', body: '# Charter\n\nBe kind.\n' } })
    const bytes = Buffer.byteLength(userData)
    console.log(`default user data: ${bytes} bytes (${(bytes / 1024).toFixed(1)} KiB)`)
    expect(userData.startsWith('#cloud-config\n')).toBe(true)
    expect(bytes).toBeLessThanOrEqual(20 * 1024)
  })

  it('carries everything the droplet needs, readable back exactly (the fake droplet relies on this)', () => {
    const read = readUserData(buildUserData({ ...base, sshKeys: [ED25519] }))
    expect(read).toMatchObject({
      deploymentId: ID,
      dropletName: 'dictumal-founding-charter-3f2a9c1e',
      certPem: cert.certPem,
      keyPem: cert.keyPem,
      guacamoleKey: base.secrets.guacamoleKey,
      vncPassword: base.secrets.vncPassword,
      constitutionBody: NASTY_BODY,
      sshKeys: [ED25519],
    })
    // The desktop password travels only as its SHA-512 crypt hash, with a random salt.
    const salt = read.userPasswordHash.split('$')[2] ?? ''
    expect(read.userPasswordHash).toMatch(/^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/)
    expect(read.userPasswordHash).toBe(sha512Crypt(base.secrets.userPassword, salt))
    expect(read.files.get(DROPLET_PATHS.secretsEnv)?.content).toBe(
      `VNC_PASSWORD=${base.secrets.vncPassword}\nUSER_PASSWORD_HASH=${read.userPasswordHash}\n`,
    )
    expect(read.config.ssh_authorized_keys).toEqual([ED25519])
    expect(read.config.ssh_pwauth).toBe(false)
    expect(read.files.get(SSHD_DROP_IN)?.content).toMatch(/^PasswordAuthentication no$/m)
    expect(read.runcmd).toEqual([[DROPLET_PATHS.setupScript, 'full']])
    expect(read.bootcmd).toBe(bootcmdScript(ID))
  })

  it('sends every file encoded (b64 or gz+b64) in a printable-ASCII document', () => {
    const userData = buildUserData({ ...base, sshKeys: [ED25519] })
    expect(userData).toMatch(PRINTABLE_ASCII)
    const doc = parse(userData) as { write_files: { path: string; encoding: string; content: string }[] }
    for (const entry of doc.write_files) {
      expect(['b64', 'gz+b64'], entry.path).toContain(entry.encoding)
      expect(entry.content, entry.path).toMatch(/^[A-Za-z0-9+/]+={0,2}$/)
    }
    // The big scripts are compressed; everything is readable back (checked file by file above and below).
    const encodingOf = (path: string) => doc.write_files.find((entry) => entry.path === path)?.encoding
    expect(encodingOf(DROPLET_PATHS.setupScript)).toBe('gz+b64')
    expect(encodingOf(DROPLET_PATHS.beaconScript)).toBe('gz+b64')
    // The hostile constitution, names with U+2028 and friends: still one plain ASCII document.
    const hostile = buildUserData({ ...base, constitution: { name: 'A\u2028B\u0085', body: `x\u2028- path: /root/.ssh/authorized_keys\u0085\t\x7f\u009b` } })
    expect(hostile).toMatch(PRINTABLE_ASCII)
    expect(readUserData(hostile).constitutionBody).toBe(`x\u2028- path: /root/.ssh/authorized_keys\u0085\t\x7f\u009b`)
  })

  it('starts the second half only in personalise mode', () => {
    const read = readUserData(buildUserData(base, { mode: 'personalise' }))
    expect(read.runcmd).toEqual([[DROPLET_PATHS.setupScript, 'personalise']])
    expect(read.constitutionBody).toBe(NASTY_BODY)
    expect(read.vncPassword).toBe(base.secrets.vncPassword)
  })

  it('gives an image build the install half only: no secrets, user, constitution or deployment', () => {
    const userData = buildBakeUserData()
    expect(userData).toMatch(PRINTABLE_ASCII)
    const doc = parse(userData) as Record<string, unknown>
    const files = (doc.write_files as { path: string }[]).map((entry) => entry.path)
    for (const path of [
      DROPLET_PATHS.secretsEnv,
      DROPLET_PATHS.guacamoleEnv,
      DROPLET_PATHS.certPem,
      DROPLET_PATHS.keyPem,
      DROPLET_PATHS.constitution,
      DROPLET_PATHS.deploymentFile,
      DROPLET_PATHS.authorizedKeys,
      DROPLET_PATHS.nginxSite,
      DROPLET_PATHS.logKey,
      DROPLET_PATHS.nginxSetupLogAuth,
      DROPLET_PATHS.setupLogServer,
      DROPLET_PATHS.setupLogUnit,
    ]) {
      expect(files, path).not.toContain(path)
    }
    expect(files).toEqual(expect.arrayContaining([DROPLET_PATHS.setupScript, DROPLET_PATHS.beaconScript, SSHD_DROP_IN]))
    expect(doc.runcmd).toEqual([[DROPLET_PATHS.setupScript, 'bake']])
    expect(doc.ssh_authorized_keys).toBeUndefined()
    expect(doc.bootcmd).toEqual([['sh', '-c', bootcmdScript('bake')]])
    expect(() => readUserData(userData)).toThrow(/no file/)
  })

  it('carries the setup log key root-only for the small server and Nginx, in both modes; none without a key', () => {
    for (const mode of ['full', 'personalise'] as const) {
      const { files } = readUserData(buildUserData(base, { mode }))
      expect(files.get(DROPLET_PATHS.logKey), mode).toEqual({ content: `${base.secrets.logKey}\n`, permissions: '0600', owner: 'root:root' })
      expect(files.get(DROPLET_PATHS.nginxSetupLogAuth), mode).toEqual({
        content: nginxSetupLogAuth(base.secrets.logKey!),
        permissions: '0600',
        owner: 'root:root',
      })
      expect(files.get(DROPLET_PATHS.setupLogServer), mode).toEqual({ content: setupLogServerScript(), permissions: '0755', owner: 'root:root' })
      expect(files.get(DROPLET_PATHS.setupLogUnit), mode).toEqual({ content: setupLogServerUnit(), permissions: '0644', owner: 'root:root' })
      expect(setupLogServerScript()).not.toContain(base.secrets.logKey)
    }
    // A deployment made before log keys (its keychain entry has none): nothing of the feature on the disk,
    // and Nginx gets the always-404 include from the setup script.
    const { logKey: _none, ...older } = base.secrets
    const { files } = readUserData(buildUserData({ ...base, secrets: older }))
    for (const path of [DROPLET_PATHS.logKey, DROPLET_PATHS.nginxSetupLogAuth, DROPLET_PATHS.setupLogServer, DROPLET_PATHS.setupLogUnit]) {
      expect(files.has(path), path).toBe(false)
    }
    expect(files.get(DROPLET_PATHS.setupScript)?.content).toContain(`printf '%s\\n' '${NGINX_SETUP_LOG_CLOSED}' >${DROPLET_PATHS.nginxSetupLogAuth}`)
  })

  it('keeps secrets and the private key in root-only files', () => {
    const { files } = readUserData(buildUserData(base))
    for (const path of [DROPLET_PATHS.secretsEnv, DROPLET_PATHS.guacamoleEnv, DROPLET_PATHS.keyPem, DROPLET_PATHS.setupScript]) {
      expect(files.get(path)).toMatchObject({ permissions: expect.stringMatching(/^0[67]00$/), owner: 'root:root' })
    }
    // The scripts read secrets from the env files; they never contain one.
    for (const path of [DROPLET_PATHS.setupScript, DROPLET_PATHS.beaconScript, DROPLET_PATHS.nginxSite]) {
      const content = files.get(path)?.content ?? ''
      for (const secret of Object.values(base.secrets)) expect(content).not.toContain(secret)
    }
  })

  it('survives PyYAML (what cloud-init uses) with a hostile constitution byte for byte', (ctx) => {
    pythonOrSkip(ctx)
    const file = join(tmp, 'pyyaml.yaml')
    writeFileSync(file, buildUserData(base))
    const script = `import base64,gzip,json,sys,yaml
doc = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
f = [f for f in doc["write_files"] if f["path"] == sys.argv[2]][0]
raw = base64.b64decode(f["content"])
print(json.dumps((gzip.decompress(raw) if f["encoding"] == "gz+b64" else raw).decode("utf-8")))`
    const result = spawnSync(PYTHON, ['-c', script, file, DROPLET_PATHS.constitution], { encoding: 'utf8' })
    expect(result.stderr).toBe('')
    expect(JSON.parse(result.stdout)).toBe(NASTY_BODY)
  })

  describe('passes the real validators', () => {
    const variants: [string, () => UserDataInput][] = [
      ['default', () => base],
      ['with SSH keys', () => ({ ...base, sshKeys: [ED25519, 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY= bob'] })],
      ['a large constitution', () => ({ ...base, constitution: { name: 'Big', body: bigBody(40 * 1024) } })],
    ]
    const documents: [string, () => string][] = [
      ...variants.map(([label, input]): [string, () => string] => [label, () => buildUserData(input())]),
      ['personalise', () => buildUserData(base, { mode: 'personalise' })],
      ['image build (bake)', () => buildBakeUserData()],
    ]

    it.for(documents)('cloud-init schema accepts the %s config', ([label, make], ctx) => {
      toolOrSkip('cloud-init', ctx)
      const file = join(tmp, `${label.replaceAll(/\W+/g, '-')}.yaml`)
      writeFileSync(file, make())
      const result = spawnSync('cloud-init', ['schema', '--config-file', file], { encoding: 'utf8' })
      expect(`${result.stdout}${result.stderr}`).toMatch(/Valid (cloud-config|schema)/i)
      expect(result.status).toBe(0)
    })

    it('cloud-init schema notices a broken config (so the check above can fail)', (ctx) => {
      toolOrSkip('cloud-init', ctx)
      const file = join(tmp, 'broken.yaml')
      writeFileSync(file, buildUserData(base).replace('ssh_pwauth: false', 'ssh_pwauth: [not, a, bool]'))
      expect(spawnSync('cloud-init', ['schema', '--config-file', file]).status).not.toBe(0)
    })

    it('shellcheck finds nothing in any embedded script', (ctx) => {
      toolOrSkip('shellcheck', ctx)
      const read = readUserData(buildUserData({ ...base, sshKeys: [ED25519] }))
      const bake = parse(buildBakeUserData()) as { bootcmd: string[][] }
      const scripts: [string, string, string][] = [
        ['setup', 'bash', read.files.get(DROPLET_PATHS.setupScript)?.content ?? ''],
        ['beacon', 'bash', read.files.get(DROPLET_PATHS.beaconScript)?.content ?? ''],
        ['bootcmd', 'sh', `#!/bin/sh\n${read.bootcmd}`],
        ['bake bootcmd', 'sh', `#!/bin/sh\n${bake.bootcmd[0]?.[2] ?? ''}`],
        // Sourced by the Guacamole image's bash entrypoint.
        ['guacamole hook', 'bash', `#!/bin/bash\n${read.files.get(DROPLET_PATHS.guacamoleHook)?.content ?? ''}`],
      ]
      for (const [name, shell, text] of scripts) {
        expect(text.length, name).toBeGreaterThan(100)
        const result = spawnSync('shellcheck', ['-s', shell, '-'], { input: text, encoding: 'utf8' })
        expect(result.stdout, name).toBe('')
        expect(result.status, name).toBe(0)
      }
    })

    it('nginx -t accepts the site with the generated certificate, key and setup log include, and refuses a wrong key', (ctx) => {
      toolOrSkip('nginx', ctx)
      const read = readUserData(buildUserData(base))
      const include = read.files.get(DROPLET_PATHS.nginxSetupLogAuth)?.content ?? ''
      expect(include).toContain(`"Bearer ${base.secrets.logKey}"`)
      const run = (keyPem: string, auth = include): { status: number | null; output: string } => {
        const dir = mkdtempSync(join(tmp, 'nginx-'))
        mkdirSync(join(dir, 'www', 'dictumal'), { recursive: true })
        writeFileSync(join(dir, 'cert.pem'), read.certPem)
        writeFileSync(join(dir, 'key.pem'), keyPem, { mode: 0o600 })
        writeFileSync(join(dir, 'setup-log.conf'), auth, { mode: 0o600 })
        const site = (read.files.get(DROPLET_PATHS.nginxSite)?.content ?? '')
          .replaceAll(DROPLET_PATHS.certPem, join(dir, 'cert.pem'))
          .replaceAll(DROPLET_PATHS.keyPem, join(dir, 'key.pem'))
          .replaceAll(DROPLET_PATHS.webRoot, join(dir, 'www'))
          .replaceAll(DROPLET_PATHS.nginxSetupLogAuth, join(dir, 'setup-log.conf'))
          .replaceAll('/var/log/nginx/', `${dir}/`)
        writeFileSync(join(dir, 'site.conf'), site)
        const conf = join(dir, 'nginx.conf')
        writeFileSync(
          conf,
          `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n` +
            ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};\n`).join('') +
            `  access_log off;\n  include ${dir}/site.conf;\n}\n`,
        )
        const result = spawnSync('nginx', ['-t', '-c', conf, '-p', dir], { encoding: 'utf8' })
        return { status: result.status, output: `${result.stdout}${result.stderr}` }
      }
      const good = run(read.keyPem)
      expect(good.output).toMatch(/test is successful/)
      expect(good.status).toBe(0)
      // The include a deployment without a log key gets from the setup script.
      const closed = run(read.keyPem, `${NGINX_SETUP_LOG_CLOSED}\n`)
      expect(closed.output).toMatch(/test is successful/)
      expect(run(read.keyPem, 'if ($http_authorization != "Bearer x") {\n').status).not.toBe(0)
      const bad = run(otherCert.keyPem)
      expect(bad.output).toMatch(/key values mismatch|SSL_CTX_use_PrivateKey/)
      expect(bad.status).not.toBe(0)
    })
  })

  describe('exposes nothing beyond SSH, HTTP and HTTPS', () => {
    let read: UserDataContents
    let setup: string
    beforeAll(() => {
      read = readUserData(buildUserData(base))
      setup = read.files.get(DROPLET_PATHS.setupScript)?.content ?? ''
    })

    it('lets UFW allow only 22, 80 and 443, denying the rest', () => {
      const allows = [...setup.matchAll(/^\s*ufw\s+allow\s+(\S+)\s*$/gm)].map((m) => m[1])
      expect(allows.sort()).toEqual(['22/tcp', '443/tcp', '80/tcp'])
      // Every line that runs ufw itself: only defaults, the three allows and enable.
      const ufwCommands = setup.split('\n').map((line) => line.trim()).filter((line) => line.startsWith('ufw '))
      expect(ufwCommands).toEqual([
        'ufw default deny incoming',
        'ufw default allow outgoing',
        'ufw allow 22/tcp',
        'ufw allow 80/tcp',
        'ufw allow 443/tcp',
        'ufw --force enable',
        'ufw reload',
      ])
      expect(setup).toMatch(/^\s*ufw default deny incoming$/m)
      expect(setup.indexOf('ufw --force enable')).toBeGreaterThan(setup.indexOf('ufw allow 22/tcp'))
    })

    it('runs guacd and Guacamole on the host network with nothing published, guacd on loopback', () => {
      const runs = setup.replaceAll('\\\n', ' ').split('\n').filter((line) => /docker run/.test(line))
      expect(runs).toHaveLength(2)
      for (const line of runs) {
        expect(line).toMatch(/--network host/)
        expect(line).not.toMatch(/\s(-p|--publish|-P|--publish-all)[\s=]/)
      }
      // Options only after the image name: its entrypoint runs `guacd -f -b 0.0.0.0 … "$@"`, and musl's
      // getopt stops at the first non-option, so a path command before -b would leave 0.0.0.0 in force.
      const guacd = runs.find((line) => line.includes(GUACD_IMAGE)) ?? ''
      expect(guacd.slice(guacd.indexOf(GUACD_IMAGE) + GUACD_IMAGE.length).trim()).toBe('-b 127.0.0.1 -L info')
      expect(runs.find((line) => line.includes(GUACAMOLE_IMAGE))).toContain(
        `-v ${DROPLET_PATHS.guacamoleHook}:/opt/guacamole/entrypoint.d/800-dictumal.sh:ro ${GUACAMOLE_IMAGE}`,
      )
      expect(runs.find((line) => line.includes(GUACAMOLE_IMAGE))).toMatch(new RegExp(`--env-file ${DROPLET_PATHS.guacamoleEnv}`))
      const env = read.files.get(DROPLET_PATHS.guacamoleEnv)?.content ?? ''
      expect(env).toMatch(/^GUACD_HOSTNAME=127\.0\.0\.1$/m)
      expect(env).toMatch(/^REMOTE_IP_VALVE_ENABLED=true$/m)
    })

    it('keeps VNC on localhost display :1 for the desktop user', () => {
      expect(setup).toMatch(/\\nlocalhost\\n/)
      expect(setup).toMatch(/\\nUseBlacklist=0\\n/)
      expect(setup).toMatch(/^\s*printf ':1=dictumal\\n' >\/etc\/tigervnc\/vncserver\.users$/m)
      expect(setup).toMatch(/systemctl enable --now tigervncserver@:1/)
    })

    it('proxies only /guacamole/ to loopback and redirects HTTP except the beacon', () => {
      const site = read.files.get(DROPLET_PATHS.nginxSite)?.content ?? ''
      expect([...site.matchAll(/proxy_pass (\S+);/g)].map((m) => m[1])).toEqual(['http://127.0.0.1:8080/guacamole/;'.slice(0, -1)])
      expect([...site.matchAll(/listen (\S+)/g)].map((m) => m[1]).sort()).toEqual(['443', '80', '[::]:443', '[::]:80'])
      expect(site).toMatch(/return 301 https:\/\/\$host\$request_uri;/)
      expect(site.match(/location = \/dictumal\/status\.json/g)).toHaveLength(2)
      expect(site).toMatch(/proxy_set_header Upgrade \$http_upgrade;/)
      expect(site).not.toMatch(/\$request[^_]/)
    })
  })

  describe('holds no fixed or foreign secret', () => {
    it('has no secret in clear anywhere in the document, and each secret only in the file meant for it', () => {
      const userData = buildUserData({ ...base, sshKeys: [ED25519] })
      const { secrets } = base
      for (const value of Object.values(secrets)) expect(userData).not.toContain(value)
      expect(userData).not.toContain(cert.keyPem.split('\n')[1])
      // The desktop password never travels, not even base64-encoded.
      for (const form of secretForms(secrets.userPassword)) expect(userData).not.toContain(form)
      const { files } = readUserData(userData)
      const intended: [string, string[]][] = [
        [secrets.vncPassword, [DROPLET_PATHS.secretsEnv]],
        [secrets.guacamoleKey, [DROPLET_PATHS.guacamoleEnv]],
        [secrets.userPassword, []],
        [cert.keyPem.split('\n')[1] ?? '', [DROPLET_PATHS.keyPem]],
        [secrets.logKey!, [DROPLET_PATHS.logKey, DROPLET_PATHS.nginxSetupLogAuth].sort()],
      ]
      for (const [value, where] of intended) {
        expect(value.length).toBeGreaterThanOrEqual(8)
        const holders = [...files].filter(([, file]) => file.content.includes(value)).map(([path]) => path).sort()
        expect(holders).toEqual(where)
      }
    })

    it('has no DigitalOcean token and differs between builds only in the deployment’s own secrets', () => {
      const otherSecrets = generateDeploymentSecrets()
      const a = buildUserData(base)
      const b = buildUserData({ ...base, secrets: otherSecrets, certificate: { certPem: otherCert.certPem, keyPem: otherCert.keyPem } })
      const mask = (userData: string, secrets: DeploymentSecrets, c: { certPem: string; keyPem: string }): string[] => {
        expect(userData).not.toMatch(/do[por]_v1_/)
        const files = readUserData(userData).files
        return [...files].map(([path, file]) => {
          let out = `${path} ${file.permissions} ${file.owner}\n${file.content}`
          expect(out).not.toMatch(/do[por]_v1_/)
          for (const [name, value] of Object.entries(secrets)) out = out.replaceAll(value, `<${name}>`)
          out = out.replace(/\$6\$[^\n]+/g, '<hash>').replace(c.certPem, '<cert>').replace(c.keyPem, '<key>')
          return out
        })
      }
      // Every remaining byte is the same, so no password or key is baked into the recipe itself.
      expect(mask(a, base.secrets, cert)).toEqual(mask(b, otherSecrets, otherCert))
      const again = generateDeploymentSecrets()
      expect(again.userPassword).not.toBe(base.secrets.userPassword)
    })
  })

  describe('size and input checks', () => {
    it('accepts a constitution that just fits and refuses one that does not, naming the constitution', () => {
      expect(() => buildUserData({ ...base, constitution: { name: 'Big', body: bigBody(45 * 1024) } })).not.toThrow()
      let caught: unknown
      try {
        // Random text: it does not compress, as the scripts around it do not help it either.
        buildUserData({ ...base, constitution: { name: 'Huge', body: randomBytes(50 * 1024).toString('base64') } })
      } catch (error) {
        caught = error
      }
      expect(caught).toBeInstanceOf(UserDataTooLargeError)
      const error = caught as UserDataTooLargeError
      expect(error.userError.code).toBe('user-data-too-large')
      expect(error.userError.message).toMatch(/^The constitution is too large/)
      expect(error.bytes).toBeGreaterThan(MAX_USER_DATA_BYTES)
    })

    it('refuses a bad deployment id, malformed secrets, a key that is not the certificate’s, and bad SSH keys', () => {
      const bad: UserDataInput[] = [
        { ...base, deploymentId: '../../etc' },
        { ...base, secrets: { ...base.secrets, vncPassword: "pw'; reboot" } },
        { ...base, secrets: { ...base.secrets, guacamoleKey: 'short' } },
        { ...base, certificate: { certPem: cert.certPem, keyPem: otherCert.keyPem } },
        { ...base, certificate: { certPem: 'nope', keyPem: cert.keyPem } },
        { ...base, sshKeys: ['12345678'] },
        { ...base, sshKeys: [`${ED25519}\nruncmd: [reboot]`] },
        { ...base, sshKeys: [`${ED25519}\u2028- ssh-ed25519 AAAAattacker evil`] },
        { ...base, sshKeys: [`${ED25519}\u0085x`] },
        { ...base, constitution: { name: 'x', body: 'lone \ud800 surrogate' } },
      ]
      for (const input of bad) expect(() => buildUserData(input)).toThrow(InvalidRecipeInputError)
    })
  })

  it('parses as a plain YAML mapping with the expected top-level keys only', () => {
    const doc = parse(buildUserData(base)) as Record<string, unknown>
    expect(Object.keys(doc).sort()).toEqual(['bootcmd', 'runcmd', 'ssh_pwauth', 'write_files'])
  })
})
