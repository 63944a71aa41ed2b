// What the CLI prints must not be able to drive the terminal. Names, errors and anything else read from
// the data file or DigitalOcean could carry escape sequences (colours, a new window title, a fake
// prompt, OSC 52 writing the clipboard, hyperlinks), carriage returns that overwrite a line, or bidi
// overrides that make text read differently from what it is. Every such character is shown as a
// visible `\uXXXX` instead: in --json output that is the JSON escape for the same character, so the
// record still parses to exactly what is stored; in human output it is plain text.

/**
 * C0 controls except newline and tab, DEL, C1 controls (which include 8-bit CSI/OSC and U+0085),
 * the Arabic letter mark, LRM/RLM, the line and paragraph separators, the bidi embeddings/overrides
 * U+202A–U+202E and isolates U+2066–U+2069, and lone surrogates. ESC is among the C0 controls, so
 * every ESC/CSI/OSC sequence loses its introducer and is left as harmless printable text.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069\uD800-\uDFFF]/gu
// eslint-disable-next-line no-control-regex -- as above, newline and tab included
const UNSAFE_OR_LAYOUT = /[\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069\uD800-\uDFFF]/gu

function escape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`
}

/** Output as a whole (lines, JSON records): newlines and tabs stay, everything else unsafe is escaped. */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, escape)
}

/** One value inside a line (a name, an error sentence): newlines and tabs are escaped too, so it stays on its line. */
export function inline(value: string): string {
  return value.replace(UNSAFE_OR_LAYOUT, escape)
}

/** The same writer, made safe at the output boundary. */
export function terminalSafeWriters<T extends { stdout(text: string): void; stderr(text: string): void }>(io: T): T {
  return {
    ...io,
    stdout: (text: string) => io.stdout(terminalSafe(text)),
    stderr: (text: string) => io.stderr(terminalSafe(text)),
  }
}
