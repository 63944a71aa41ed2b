// The constitution editor's state, outside the view so everything that leaves it (the sidebar, the
// app menu and its shortcuts, Cancel) goes through one guard: with unsaved changes, "Discard
// changes?" asks first. Drafts autosave to this window's localStorage per constitution (text the
// user typed, never a secret) and come back when the same constitution is edited again.
import { create } from 'zustand'

export interface Editing {
  /** Absent for a new constitution. */
  id?: string
  name: string
  body: string
}

interface EditorState {
  editing: Editing | null
  /** The editor's text differs from what was saved. */
  dirty: boolean
  /** What the user asked to do while the editor had unsaved changes (waits for "Discard"). */
  pendingLeave: (() => void) | null
  open(editing: Editing): void
  setDirty(dirty: boolean): void
}

export const useEditorStore = create<EditorState>((set) => ({
  editing: null,
  dirty: false,
  pendingLeave: null,
  open: (editing) => set({ editing, dirty: false, pendingLeave: null }),
  setDirty: (dirty) => set({ dirty }),
}))

/** Closes the editor without asking (after a save, or once the user chose Discard). */
export function closeEditor(): void {
  useEditorStore.setState({ editing: null, dirty: false, pendingLeave: null })
}

/**
 * Runs `action` once leaving the editor is fine: at once when nothing is unsaved (closing the editor
 * first), else after the user confirms "Discard changes?".
 */
export function leaveEditor(action: () => void = () => {}): void {
  const { editing, dirty } = useEditorStore.getState()
  if (editing && dirty) {
    useEditorStore.setState({ pendingLeave: action })
    return
  }
  if (editing) closeEditor()
  action()
}

export function confirmLeave(): void {
  const action = useEditorStore.getState().pendingLeave
  const { editing } = useEditorStore.getState()
  if (editing) discardDraft(editing.id)
  closeEditor()
  action?.()
}

export function cancelLeave(): void {
  useEditorStore.setState({ pendingLeave: null })
}

// ---------- Drafts ----------

const DRAFT_PREFIX = 'dictumal.draft.'

function draftKey(id: string | undefined): string {
  return `${DRAFT_PREFIX}${id ?? 'new'}`
}

export interface Draft {
  name: string
  body: string
  savedAt: string
}

export function loadDraft(id: string | undefined): Draft | null {
  try {
    const raw = window.localStorage.getItem(draftKey(id))
    if (!raw) return null
    const value = JSON.parse(raw) as Partial<Draft>
    return typeof value.name === 'string' && typeof value.body === 'string' ? { name: value.name, body: value.body, savedAt: String(value.savedAt ?? '') } : null
  } catch {
    return null
  }
}

export function saveDraft(id: string | undefined, draft: { name: string; body: string }): void {
  try {
    window.localStorage.setItem(draftKey(id), JSON.stringify({ ...draft, savedAt: new Date().toISOString() }))
  } catch {
    // Storage full or unavailable: the editor still works, only without the draft.
  }
}

export function discardDraft(id: string | undefined): void {
  try {
    window.localStorage.removeItem(draftKey(id))
  } catch {
    // Nothing to remove.
  }
}
