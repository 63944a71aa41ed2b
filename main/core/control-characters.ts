// Characters that must never reach a terminal or a log view as they are: they could move the cursor,
// recolour or retitle the terminal, write the clipboard (OSC 52), overwrite a line, or make text read
// differently from what it is. The CLI escapes them visibly (main/cli/terminal-text.ts); the setup log
// view drops them (main/core/engine/setup-log.ts).

/**
 * C0 controls except newline and tab, DEL, C1 controls (which include 8-bit CSI/OSC and U+0085),
 * the Arabic letter mark, LRM/RLM, the line and paragraph separators, the bidi embeddings/overrides
 * U+202A–U+202E and isolates U+2066–U+2069, lone surrogates, and the invisible characters that make two
 * names look alike (U+180E, zero-width space U+200B, word joiner and invisible operators U+2060–U+2064,
 * U+FEFF). The zero-width joiner and non-joiner stay: emoji sequences and several scripts need them.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const UNSAFE_CHARACTERS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u180E\u200B\u200E\u200F\u2028\u2029\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\uD800-\uDFFF]/gu
/** The same, with newline and tab too: for a value that must stay on its line. */
// eslint-disable-next-line no-control-regex -- as above, newline and tab included
export const UNSAFE_OR_LAYOUT_CHARACTERS = /[\u0000-\u001F\u007F-\u009F\u061C\u180E\u200B\u200E\u200F\u2028\u2029\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\uD800-\uDFFF]/gu
