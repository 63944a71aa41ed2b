// sha512Crypt against two independent implementations of SHA-512 crypt: OpenSSL's `passwd -6` and
// glibc's crypt(3) through Debian's python3 (the same libcrypt that chpasswd -e and login use).
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { sha512Crypt } from './password-hash'
import { requireTool } from './testing/require-tool'

const PYTHON = '/usr/bin/python3'

const PASSWORDS = [
  '',
  'a',
  'UserPassword1234567',
  'correct horse battery staple',
  'x'.repeat(64),
  'long '.repeat(60),
  'Ünïcödé — 憲法 🗳️',
  "quotes ' \" $HOME `id` \\ and tabs\t",
]
const SALTS = ['S', 'ab', 'saltstring', './09AZaz', 'abcdefghijklmnop']

function openssl(password: string, salt: string): string {
  const result = spawnSync('openssl', ['passwd', '-6', '-salt', salt, password], { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(result.stderr)
  return result.stdout.trim()
}

describe('sha512Crypt', () => {
  it('matches openssl passwd -6 for empty, long, non-ASCII passwords and salts of 1–16 characters', (ctx) => {
    requireTool('openssl', (note) => ctx.skip(note))
    // OpenSSL refuses an empty password (it prints <NULL>) and cuts one at 256 bytes: those are left to
    // the crypt(3) check below.
    for (const password of PASSWORDS.filter((p) => p !== '' && Buffer.byteLength(p) <= 256)) {
      for (const salt of SALTS) {
        expect(sha512Crypt(password, salt), `${JSON.stringify(password)} / ${salt}`).toBe(openssl(password, salt))
      }
    }
  })

  it('matches glibc crypt(3) as Debian python3 calls it', (ctx) => {
    if (!existsSync(PYTHON)) {
      if (process.env.CI) throw new Error(`${PYTHON} is missing`)
      ctx.skip(`${PYTHON} is missing: apt-get install python3`)
    }
    const cases = PASSWORDS.flatMap((password) => SALTS.map((salt) => ({ password, salt })))
    cases.push({ password: 'line\nbreak', salt: 'nl' }, { password: 'p'.repeat(300), salt: 'abcdefghijklmnop' })
    const script = `import crypt, json, sys
for line in sys.stdin:
    c = json.loads(line)
    print(crypt.crypt(c["password"], "$6$" + c["salt"]))`
    const result = spawnSync(PYTHON, ['-W', 'ignore', '-c', script], {
      input: cases.map((c) => JSON.stringify(c)).join('\n') + '\n',
      encoding: 'utf8',
    })
    expect(result.stderr).toBe('')
    const expected = result.stdout.trim().split('\n')
    expect(expected).toHaveLength(cases.length)
    cases.forEach(({ password, salt }, i) => {
      expect(sha512Crypt(password, salt), `${JSON.stringify(password)} / ${salt}`).toBe(expected[i])
    })
  })

  it('picks a fresh 16-character salt each time and refuses a salt crypt cannot take', () => {
    const a = sha512Crypt('same password')
    const b = sha512Crypt('same password')
    expect(a).toMatch(/^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/)
    expect(a.split('$')[2]).not.toBe(b.split('$')[2])
    expect(a).not.toBe(b)
    for (const salt of ['', 'x'.repeat(17), 'has$dollar', 'spa ce']) expect(() => sha512Crypt('pw', salt)).toThrow()
  })
})
