import { randomBytes } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { generateDeploymentCertificate } from '../certificate'
import { generateDeploymentSecrets } from '../deployment-secrets'
import { buildUserData, type UserDataInput } from './user-data'
import {
  DROPLET_NAME_PATTERN,
  dropletNameFor,
  InvalidRecipeInputError,
  isDropletName,
  isPublicKeyLine,
  MAX_USER_DATA_BYTES,
  slugify,
  UserDataTooLargeError,
} from './validation'

const ID = '3f2a9c1e-7b4d-4c2a-9e1f-0a1b2c3d4e5f'

describe('dropletNameFor', () => {
  it('is dictumal-<slug>-<first 8 of id>', () => {
    expect(dropletNameFor('Founding Charter', ID)).toBe('dictumal-founding-charter-3f2a9c1e')
    expect(dropletNameFor('Founding Charter', ID.toUpperCase())).toBe('dictumal-founding-charter-3f2a9c1e')
  })

  it('folds accents and squeezes everything else into single dashes', () => {
    expect(slugify('Ça va? Très   bien!!')).toBe('ca-va-tres-bien')
    expect(slugify('--Rules_v2.0 (draft)--')).toBe('rules-v2-0-draft')
    expect(slugify('憲法')).toBe('desktop')
    expect(slugify('')).toBe('desktop')
  })

  it('keeps names short enough for a host name, without a trailing dash after cutting', () => {
    const name = dropletNameFor(`${'a'.repeat(39)} b${'c'.repeat(50)}`, ID)
    expect(name.length).toBeLessThanOrEqual(63)
    expect(name).toBe(`dictumal-${'a'.repeat(39)}-3f2a9c1e`)
  })

  it('always yields a name DigitalOcean accepts', () => {
    for (const input of ['x', '...', '🚀 launch', 'A.B', 'name\nwith\nnewlines', ' '.repeat(100)]) {
      const name = dropletNameFor(input, ID)
      expect(name).toMatch(DROPLET_NAME_PATTERN)
      expect(isDropletName(name)).toBe(true)
    }
  })

  it('refuses an id that is not a UUID', () => {
    expect(() => dropletNameFor('x', 'abc')).toThrow(InvalidRecipeInputError)
    expect(() => dropletNameFor('x', `${ID} ; reboot`)).toThrow(InvalidRecipeInputError)
  })
})

describe('isDropletName', () => {
  it('follows the DigitalOcean pattern', () => {
    expect(isDropletName('dictumal-a-12345678')).toBe(true)
    expect(isDropletName('has space')).toBe(false)
    expect(isDropletName('trailing-')).toBe(false)
    expect(isDropletName('under_score')).toBe(false)
    expect(isDropletName('a'.repeat(256))).toBe(false)
  })
})

describe('isPublicKeyLine', () => {
  it('accepts OpenSSH public keys and nothing else', () => {
    expect(isPublicKeyLine('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKq5 alice@laptop')).toBe(true)
    expect(isPublicKeyLine('ssh-rsa AAAAB3NzaC1yc2E=')).toBe(true)
    expect(isPublicKeyLine('3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa')).toBe(false)
    expect(isPublicKeyLine('512190')).toBe(false)
    expect(isPublicKeyLine('ssh-ed25519 AAAA\nssh-ed25519 BBBB')).toBe(false)
  })

  it('refuses a comment with characters YAML 1.1 or a terminal would read as anything but text', () => {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKq5'
    expect(isPublicKeyLine(`${key} alice@laptop (work) #1 ~!`)).toBe(true)
    for (const bad of ['\u2028', '\u2029', '\u0085', '\t', '\u0080', '\u009b', '\u009f', '\x7f', '\x1b', '\x00', '\ufeff', 'é']) {
      expect(isPublicKeyLine(`${key} alice${bad}@laptop`), JSON.stringify(bad)).toBe(false)
    }
    // The reported injection: a comment that PyYAML would split into a second, attacker's key.
    expect(isPublicKeyLine(`${key} alice\u2028- ssh-ed25519 AAAAattacker evil`)).toBe(false)
  })
})

describe('UserDataTooLargeError', () => {
  let base: Omit<UserDataInput, 'constitution'>
  beforeAll(async () => {
    const cert = await generateDeploymentCertificate({ deploymentId: ID })
    base = { deploymentId: ID, secrets: generateDeploymentSecrets(), certificate: { certPem: cert.certPem, keyPem: cert.keyPem } }
  })

  /** The error buildUserData throws for this body, or null when it fits. */
  const tooLarge = (body: string): UserDataTooLargeError | null => {
    try {
      buildUserData({ ...base, constitution: { name: 'Charter', body } })
      return null
    } catch (error) {
      if (error instanceof UserDataTooLargeError) return error
      throw error
    }
  }
  /** The first `n` UTF-16 units of `text`, one fewer where the cut would split a surrogate pair (an emoji). */
  const cut = (text: string, n: number): string => text.slice(0, n > 0 && /[\uD800-\uDBFF]/.test(text[n - 1] ?? '') ? n - 1 : n)
  /** The longest prefix of `text` that fits, in bytes (UTF-8), found by bisection on characters. */
  const truth = (text: string): number => {
    let lo = 0
    let hi = text.length
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2)
      if (tooLarge(cut(text, mid)) === null) lo = mid
      else hi = mid - 1
    }
    return Buffer.byteLength(cut(text, lo), 'utf8')
  }
  const statedRoom = (error: UserDataTooLargeError): number => {
    const match = /about (\d+\.\d) KiB of text like it fits/.exec(error.userError.message)
    if (!match) throw new Error(`no room in: ${error.userError.message}`)
    return Number(match[1]) * 1024
  }

  /** Prose from a fixed vocabulary with a seeded generator: compresses like real text, evenly along its length. */
  function prose(bytes: number, words: string[]): string {
    let seed = 12345
    let out = ''
    while (out.length < bytes) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      out += words[seed % words.length] + (seed % 13 === 0 ? '.\n' : ' ')
    }
    return out
  }
  const ENGLISH = 'the people of this droplet hold that every article shall be read aloud before any vote is taken and recorded in the minutes by a clerk chosen each year'.split(' ')
  const MIXED = 'Ünïcödé — 憲法 第一条 人民 主権 droplet Verfassung Grundgesetz Artikel élu 🗳️ конституция'.split(' ')

  it.for([
    ['English prose', () => prose(400 * 1024, ENGLISH)],
    ['non-ASCII prose', () => prose(300 * 1024, MIXED)],
    ['incompressible text', () => randomBytes(90 * 1024).toString('base64')],
  ] as const)('says how much %s fits, within a few percent of the truth', ([, make]) => {
    const text = make()
    const fits = truth(text)
    expect(fits).toBeGreaterThan(10 * 1024)
    // Just fits: no error. One step more, and a good deal more: the stated room is close to the truth.
    expect(tooLarge(text.slice(0, Buffer.from(text).subarray(0, fits).toString('utf8').length))).toBeNull()
    for (const over of [fits + 200, Math.min(text.length, Math.round(fits * 1.5))]) {
      const body = cut(text, over)
      const error = tooLarge(body)
      expect(error, `${over}`).toBeInstanceOf(UserDataTooLargeError)
      const room = statedRoom(error!)
      expect(Math.abs(room - fits) / fits, `stated ${room} vs true ${fits}`).toBeLessThan(0.05)
      expect(error!.userError.message).toContain(`it is ${(Buffer.byteLength(body) / 1024).toFixed(1)} KiB`)
    }
  })

  it('names the constitution and how much fits, in one sentence with a hint', () => {
    const body = randomBytes(60 * 1024).toString('base64')
    const error = tooLarge(body)
    expect(error).toBeInstanceOf(UserDataTooLargeError)
    expect(error!.userError).toMatchObject({ code: 'user-data-too-large', hint: expect.stringMatching(/Shorten/) })
    expect(error!.userError.message).toMatch(
      /^The constitution is too large to send to the droplet: it is 80\.0 KiB, and about \d+\.\d KiB of text like it fits in DigitalOcean's 64 KiB user data\.$/,
    )
    expect(error!.message).toBe(error!.userError.message)
    expect(error!.bytes).toBeGreaterThan(MAX_USER_DATA_BYTES)
  })

  it('never says a negative or absurd room for a huge body', () => {
    const error = new UserDataTooLargeError(40 * 1024 * 1024, 'x'.repeat(30 * 1024 * 1024))
    expect(error.userError.message).toMatch(/it is 30720\.0 KiB, and about \d+\.\d KiB of text like it fits/)
    expect(statedRoom(error)).toBeGreaterThanOrEqual(0)
  })
})
