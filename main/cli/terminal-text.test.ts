import { describe, expect, it } from 'vitest'
import { inline, terminalSafe, terminalSafeWriters } from './terminal-text'

// Nothing a terminal would act on: C0 but newline/tab, DEL, C1, line/paragraph separators, bidi controls, lone surrogates.
// eslint-disable-next-line no-control-regex -- the characters under test
const DANGEROUS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u180E\u200B\u200E\u200F\u2028\u2029\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]|\p{Cs}/u

const HOSTILE = [
  '\u001b[2J\u001b[31mred\u001b[0m', // CSI: clear screen, colour
  '\u001b]0;owned\u0007', // OSC: window title, BEL-terminated
  '\u001b]52;c;ZWNobyBoaQ==\u001b\\', // OSC 52: write the clipboard, ST-terminated
  '\u001b]8;;https://evil.example\u001b\\link\u001b]8;;\u001b\\', // OSC 8 hyperlink
  '\u009b2J\u009d0;c1 title\u009c', // 8-bit CSI, OSC, ST
  'fake\rprompt $ ', // carriage return overwriting the line
  'back\bspace\u007fdel\u0000nul',
  'next\u0085line\u2028sep\u2029para',
  'abc\u202Edcba\u202C \u2066iso\u2069 \u200F\u061C',
  'lone \uD800 surrogate',
  'ad\u200Bmin \u2060x\uFEFFy\u180Ez\u2063', // invisible: two names that look alike
]

describe('terminalSafe', () => {
  it('leaves every dangerous character visible as \\uXXXX and keeps ordinary text, newlines and tabs', () => {
    for (const text of HOSTILE) {
      const out = terminalSafe(text)
      expect(out, JSON.stringify(text)).not.toMatch(DANGEROUS)
    }
    expect(terminalSafe('\u001b]0;owned\u0007')).toBe('\\u001b]0;owned\\u0007')
    expect(terminalSafe('a\u009bb')).toBe('a\\u009bb')
    const plain = 'Résumé — 東京 🙂 "quoted"\ttab\nnext line'
    expect(terminalSafe(plain)).toBe(plain)
    expect(terminalSafe('ad\u200Bmin')).toBe('ad\\u200bmin')
    // Joiners stay: emoji sequences and scripts such as Persian need them.
    const joined = '👩\u200D💻 می\u200Cخواهم'
    expect(terminalSafe(joined)).toBe(joined)
  })

  it('turns a JSON record into the same record with those characters as JSON escapes', () => {
    for (const text of HOSTILE) {
      const record = { name: text, error: `failed: ${text}` }
      const out = terminalSafe(JSON.stringify(record))
      expect(out).not.toMatch(DANGEROUS)
      expect(JSON.parse(out)).toEqual(JSON.parse(JSON.stringify(record)))
    }
    // C1 and bidi characters get through JSON.stringify untouched; only the boundary escapes them.
    expect(JSON.stringify('\u009b\u202e')).toMatch(DANGEROUS)
  })
})

describe('inline', () => {
  it('also escapes newlines and tabs, so a value cannot add a line of its own', () => {
    expect(inline('name\nFAIL  forged line\tx')).toBe('name\\u000aFAIL  forged line\\u0009x')
    // eslint-disable-next-line no-control-regex -- the characters under test
    for (const text of HOSTILE) expect(inline(text)).not.toMatch(/[\n\t]|[\u0000-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069]/)
  })
})

describe('terminalSafeWriters', () => {
  it('wraps both streams and keeps the rest of the object', () => {
    const seen: string[] = []
    const io = terminalSafeWriters({ stdout: (t: string) => seen.push(`out:${t}`), stderr: (t: string) => seen.push(`err:${t}`), env: { A: '1' } })
    io.stdout('\u001b[31mx\n')
    io.stderr('\u009b\n')
    expect(seen).toEqual(['out:\\u001b[31mx\n', 'err:\\u009b\n'])
    expect(io.env).toEqual({ A: '1' })
  })
})
