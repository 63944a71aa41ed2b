// Record-level helpers over the store: deployments by id or unique prefix, constitutions with
// validation, settings. Lookups answer with Result values because a wrong ID is the user's mistake.
import { randomUUID } from 'node:crypto'
import type { Constitution, Deployment, Result } from '../../../preload/contract'
import { CONSTITUTION_NAME_MAX, settingsPatchSchema, type Settings, type StoreData } from './schema'
import type { Store } from './store'

export function getDeployment(data: StoreData, id: string): Deployment | undefined {
  return data.deployments.find((d) => d.id === id)
}

/** Inserts or replaces by id (records are written before the droplet exists, then updated in place). */
export function upsertDeployment(store: Store, deployment: Deployment): Promise<Deployment> {
  return store.update((draft) => {
    const copy = structuredClone(deployment)
    const index = draft.deployments.findIndex((d) => d.id === deployment.id)
    if (index === -1) draft.deployments.push(copy)
    else draft.deployments[index] = copy
    return copy
  })
}

/** Applies a patch to a stored record in one locked step; undefined when no such record. */
export function patchDeployment(
  store: Store,
  id: string,
  patch: (current: Deployment) => Partial<Omit<Deployment, 'id'>>,
): Promise<Deployment | undefined> {
  return store.update((draft) => {
    const index = draft.deployments.findIndex((d) => d.id === id)
    const current = draft.deployments[index]
    if (current === undefined) return undefined
    const next: Deployment = { ...current, ...patch(current), id: current.id }
    draft.deployments[index] = next
    return structuredClone(next)
  })
}

export function removeDeployment(store: Store, id: string): Promise<boolean> {
  return store.update((draft) => {
    const before = draft.deployments.length
    draft.deployments = draft.deployments.filter((d) => d.id !== id)
    return draft.deployments.length !== before
  })
}

/** An exact id, else the one record whose id starts with `prefix` (the CLI accepts any unique prefix). */
export function findDeploymentByPrefix(data: StoreData, prefix: string): Result<Deployment> {
  const wanted = prefix.trim().toLowerCase()
  if (wanted === '') {
    return { ok: false, error: { code: 'deployment-not-found', message: 'Give a deployment ID (or the start of one).' } }
  }
  const exact = data.deployments.find((d) => d.id.toLowerCase() === wanted)
  if (exact !== undefined) return { ok: true, value: exact }
  const matches = data.deployments.filter((d) => d.id.toLowerCase().startsWith(wanted))
  const [only] = matches
  if (matches.length === 1 && only !== undefined) return { ok: true, value: only }
  if (matches.length === 0) {
    return {
      ok: false,
      error: { code: 'deployment-not-found', message: `No deployment has an ID starting with "${wanted}".` },
    }
  }
  return {
    ok: false,
    error: {
      code: 'deployment-ambiguous',
      message: `"${wanted}" matches ${matches.length} deployments (${matches.map((d) => d.id.slice(0, 8)).join(', ')}); give more characters.`,
    },
  }
}

// ---------- Constitutions ----------

export interface ConstitutionInput {
  name: string
  body: string
}

export interface RecordOptions {
  now?: () => Date
  newId?: () => string
}

/** A user sentence when the name is unusable, else null. */
export function validateConstitutionName(name: unknown): string | null {
  if (typeof name !== 'string' || name.trim() === '') return 'A constitution needs a name.'
  if (name.length > CONSTITUTION_NAME_MAX) return `A constitution name can have at most ${CONSTITUTION_NAME_MAX} characters.`
  return null
}

function invalid(message: string): Result<never> {
  return { ok: false, error: { code: 'constitution-invalid', message } }
}

function checkInput(input: ConstitutionInput): string | null {
  const nameProblem = validateConstitutionName(input.name)
  if (nameProblem !== null) return nameProblem
  if (typeof input.body !== 'string') return 'A constitution body must be text.'
  return null
}

export async function createConstitution(
  store: Store,
  input: ConstitutionInput,
  options: RecordOptions = {},
): Promise<Result<Constitution>> {
  const problem = checkInput(input)
  if (problem !== null) return invalid(problem)
  const at = (options.now?.() ?? new Date()).toISOString()
  const record: Constitution = {
    id: options.newId?.() ?? randomUUID(),
    name: input.name.trim(),
    body: input.body,
    createdAt: at,
    updatedAt: at,
  }
  await store.update((draft) => {
    draft.constitutions.push(structuredClone(record))
  })
  return { ok: true, value: record }
}

export async function updateConstitution(
  store: Store,
  id: string,
  input: ConstitutionInput,
  options: RecordOptions = {},
): Promise<Result<Constitution>> {
  const problem = checkInput(input)
  if (problem !== null) return invalid(problem)
  const at = (options.now?.() ?? new Date()).toISOString()
  const updated = await store.update((draft) => {
    const index = draft.constitutions.findIndex((c) => c.id === id)
    const current = draft.constitutions[index]
    if (current === undefined) return undefined
    const next: Constitution = { ...current, name: input.name.trim(), body: input.body, updatedAt: at }
    draft.constitutions[index] = next
    return structuredClone(next)
  })
  return updated === undefined ? constitutionNotFound(id) : { ok: true, value: updated }
}

export async function deleteConstitution(store: Store, id: string): Promise<Result<null>> {
  const removed = await store.update((draft) => {
    const before = draft.constitutions.length
    draft.constitutions = draft.constitutions.filter((c) => c.id !== id)
    return draft.constitutions.length !== before
  })
  return removed ? { ok: true, value: null } : constitutionNotFound(id)
}

function constitutionNotFound(ref: string): Result<never> {
  return { ok: false, error: { code: 'constitution-not-found', message: `No constitution matches "${ref}".` } }
}

/** For `--constitution ID|NAME`: exact id, exact name (case-insensitive), then a unique id prefix. */
export function findConstitution(data: StoreData, ref: string): Result<Constitution> {
  const wanted = ref.trim()
  const byId = data.constitutions.find((c) => c.id === wanted)
  if (byId !== undefined) return { ok: true, value: byId }
  const byName = data.constitutions.filter((c) => c.name.toLowerCase() === wanted.toLowerCase())
  if (byName.length > 1) {
    return { ok: false, error: { code: 'constitution-ambiguous', message: `${byName.length} constitutions are named "${ref}"; use the ID.` } }
  }
  const [named] = byName
  if (named !== undefined) return { ok: true, value: named }
  const byPrefix = wanted === '' ? [] : data.constitutions.filter((c) => c.id.startsWith(wanted))
  const [only] = byPrefix
  if (byPrefix.length === 1 && only !== undefined) return { ok: true, value: only }
  if (byPrefix.length > 1) {
    return { ok: false, error: { code: 'constitution-ambiguous', message: `"${ref}" matches ${byPrefix.length} constitutions; give more characters.` } }
  }
  return constitutionNotFound(ref)
}

// ---------- Settings ----------

export async function updateSettings(store: Store, patch: unknown): Promise<Result<Settings>> {
  const parsed = settingsPatchSchema.safeParse(patch)
  if (!parsed.success) {
    return { ok: false, error: { code: 'settings-invalid', message: `Invalid setting: ${parsed.error.issues[0]?.path.join('.') ?? 'value'}.` } }
  }
  const next = await store.update((draft) => {
    const defined = Object.fromEntries(Object.entries(parsed.data).filter(([, value]) => value !== undefined))
    draft.settings = { ...draft.settings, ...defined }
    return structuredClone(draft.settings)
  })
  return { ok: true, value: next }
}
