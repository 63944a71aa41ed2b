// One way to turn any failure into the sentence a user sees (SPEC: one clear sentence, no secrets).
// Services throw typed errors carrying `userMessage` (and maybe `hint`); anything else is unexpected.
import type { Result, UserError } from '../../preload/contract'
import { redact } from './log'

/** An expected failure raised by Dictumal's own services. */
export class AppError extends Error {
  readonly code: string
  readonly userMessage: string
  readonly hint: string | undefined

  constructor(code: string, userMessage: string, hint?: string) {
    super(userMessage)
    this.name = 'AppError'
    this.code = code
    this.userMessage = userMessage
    this.hint = hint
  }
}

interface Explained {
  userMessage: string
  code?: unknown
  hint?: unknown
}

function isExplained(e: unknown): e is Explained {
  return typeof e === 'object' && e !== null && typeof (e as { userMessage?: unknown }).userMessage === 'string'
}

function carriedUserError(e: unknown): UserError | null {
  if (typeof e !== 'object' || e === null) return null
  // RecipeError carries `userError`; KeychainUnavailableError offers `toUserError()`.
  const carried = (e as { userError?: unknown }).userError
  if (isUserError(carried)) return carried
  const method = (e as { toUserError?: unknown }).toUserError
  if (typeof method === 'function') {
    const made: unknown = (method as () => unknown).call(e)
    if (isUserError(made)) return made
  }
  return null
}

function isUserError(v: unknown): v is UserError {
  return typeof v === 'object' && v !== null && typeof (v as UserError).code === 'string' && typeof (v as UserError).message === 'string'
}

/** True for failures a user can act on; false for bugs, which are logged with context. */
export function isExpected(e: unknown): boolean {
  return isExplained(e) || carriedUserError(e) !== null
}

export function toUserError(e: unknown): UserError {
  const carried = carriedUserError(e)
  if (carried) {
    const out: UserError = { code: carried.code, message: redact(carried.message) }
    if (carried.hint) out.hint = redact(carried.hint)
    return out
  }
  if (isExplained(e)) {
    const out: UserError = {
      code: typeof e.code === 'string' ? e.code : 'error',
      message: redact(e.userMessage),
    }
    if (typeof e.hint === 'string' && e.hint !== '') out.hint = redact(e.hint)
    return out
  }
  return { code: 'unexpected', message: 'Something went wrong inside Dictumal; the details are in the log.' }
}

export function ok<T>(value: T): Result<T> {
  return { ok: true, value }
}

export function fail<T>(e: unknown): Result<T> {
  return { ok: false, error: toUserError(e) }
}
