// SHA-512 crypt (`$6$`), the format /etc/shadow and `chpasswd -e` take, so the desktop user's password
// reaches the droplet only as a hash. Node has no crypt(3); this follows Drepper's published algorithm.
import { createHash, hash, randomBytes } from 'node:crypto'

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const ROUNDS = 5000
const SALT_PATTERN = /^[./0-9A-Za-z]{1,16}$/

function sha512(...parts: Buffer[]): Buffer {
  const hash = createHash('sha512')
  for (const part of parts) hash.update(part)
  return hash.digest()
}

/** `source` repeated to exactly `length` bytes. */
function stretch(source: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length)
  for (let at = 0; at < length; at += source.length) source.copy(out, at, 0, Math.min(source.length, length - at))
  return out
}

function encode(c: Buffer): string {
  let out = ''
  const put = (b2: number, b1: number, b0: number, chars: number): void => {
    let w = (b2 << 16) | (b1 << 8) | b0
    for (let i = 0; i < chars; i++) {
      out += ITOA64[w & 0x3f]
      w >>= 6
    }
  }
  for (let k = 0; k < 21; k++) {
    const [x, y, z] = [c[k]!, c[k + 21]!, c[k + 42]!]
    if (k % 3 === 0) put(x, y, z, 4)
    else if (k % 3 === 1) put(y, z, x, 4)
    else put(z, x, y, 4)
  }
  put(0, 0, c[63]!, 2)
  return out
}

/** `$6$<salt>$<hash>` for a password; a random 16-character salt unless one is given (tests). */
export function sha512Crypt(password: string, salt?: string): string {
  const s = salt ?? Array.from(randomBytes(16), (b) => ITOA64[b & 0x3f]).join('')
  if (!SALT_PATTERN.test(s)) throw new Error('A crypt salt is 1–16 characters of [./0-9A-Za-z].')
  const p = Buffer.from(password, 'utf8')
  const sb = Buffer.from(s, 'ascii')

  const b = sha512(p, sb, p)
  const aParts: Buffer[] = [p, sb, stretch(b, p.length)]
  for (let n = p.length; n > 0; n >>= 1) aParts.push(n & 1 ? b : p)
  const a = sha512(...aParts)

  const pBytes = stretch(sha512(...Array<Buffer>(p.length).fill(p)), p.length)
  const sBytes = stretch(sha512(...Array<Buffer>(16 + a[0]!).fill(sb)), sb.length)

  // The 5000 rounds are most of a create's CPU (issue 15): each round's input is laid out in one reused
  // buffer and hashed in one call, instead of a Hash object and up to four updates per round.
  const scratch = Buffer.alloc(64 + sBytes.length + 2 * pBytes.length + 64)
  const put = (source: Buffer, at: number): number => at + source.copy(scratch, at)
  let c = a
  for (let i = 0; i < ROUNDS; i++) {
    let at = put(i & 1 ? pBytes : c, 0)
    if (i % 3 !== 0) at = put(sBytes, at)
    if (i % 7 !== 0) at = put(pBytes, at)
    at = put(i & 1 ? c : pBytes, at)
    c = hash('sha512', scratch.subarray(0, at), 'buffer')
  }
  return `$6$${s}$${encode(c)}`
}
