// What the CLI prints must not be able to drive the terminal. Names, errors and anything else read from
// the data file or DigitalOcean could carry escape sequences (colours, a new window title, a fake
// prompt, OSC 52 writing the clipboard, hyperlinks), carriage returns that overwrite a line, or bidi
// overrides that make text read differently from what it is. Every such character is shown as a
// visible `\uXXXX` instead: in --json output that is the JSON escape for the same character, so the
// record still parses to exactly what is stored; in human output it is plain text.
import { UNSAFE_CHARACTERS, UNSAFE_OR_LAYOUT_CHARACTERS } from '../core/control-characters'

const UNSAFE = UNSAFE_CHARACTERS
const UNSAFE_OR_LAYOUT = UNSAFE_OR_LAYOUT_CHARACTERS

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
