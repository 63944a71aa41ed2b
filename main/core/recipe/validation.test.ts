import { describe, expect, it } from 'vitest'
import {
  DROPLET_NAME_PATTERN,
  dropletNameFor,
  InvalidRecipeInputError,
  isDropletName,
  isPublicKeyLine,
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
})

describe('UserDataTooLargeError', () => {
  it('names the constitution and how much fits', () => {
    const error = new UserDataTooLargeError(70 * 1024, 60 * 1024)
    expect(error.userError).toMatchObject({ code: 'user-data-too-large' })
    expect(error.userError.message).toBe(
      "The constitution is too large to send to the droplet: it is 60.0 KiB, and about 54.0 KiB fits in DigitalOcean's 64 KiB user data.",
    )
    expect(error.message).toBe(error.userError.message)
  })
})
