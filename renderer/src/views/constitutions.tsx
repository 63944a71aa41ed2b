// Constitutions: the documents a desktop is built around. List, write (with a preview), delete, deploy.
// The editor keeps work: drafts autosave, leaving with unsaved changes asks first, Ctrl/Cmd+S saves.
import { lazy, Suspense, useEffect, useId, useRef, useState } from 'react'
import type { Constitution, UserError } from '../../../preload/contract'
import { STARTER } from '../commands'
import { ConfirmDialog } from '../components/dialog'
import { ErrorNote } from '../components/notes'
import { cancelLeave, closeEditor, confirmLeave, discardDraft, leaveEditor, loadDraft, saveDraft, useEditorStore, type Editing } from '../editor-store'
import { guarded, loadConstitutions, useAppStore } from '../store'

// react-markdown and remark-gfm load when the preview is first shown, not with the app.
const MarkdownPreview = lazy(() => import('../components/markdown').then((m) => ({ default: m.MarkdownPreview })))

/** How long typing pauses before the draft is written. */
const DRAFT_DELAY_MS = 400

export function ConstitutionsView() {
  const constitutions = useAppStore((s) => s.constitutions)
  const set = useAppStore((s) => s.set)
  const editing = useEditorStore((s) => s.editing)
  const setEditing = useEditorStore((s) => s.open)
  const [deleting, setDeleting] = useState<Constitution | null>(null)

  if (editing) {
    return <ConstitutionEditor key={editing.id ?? 'new'} initial={editing} />
  }

  return (
    <section aria-labelledby="constitutions-title">
      <div className="page-head">
        <h1 id="constitutions-title">Constitutions</h1>
        <button type="button" className="button primary" onClick={() => setEditing({ name: '', body: STARTER })}>
          New constitution
        </button>
      </div>
      {constitutions === null ? (
        <p className="muted">Loading…</p>
      ) : constitutions.length === 0 ? (
        <div className="empty">
          <h2>No constitutions yet</h2>
          <p>A constitution is the document your desktop is built around. It is placed on the desktop as constitution.md.</p>
          <button type="button" className="button primary" onClick={() => setEditing({ name: '', body: STARTER })}>
            Write your first constitution
          </button>
        </div>
      ) : (
        <ul className="cards" aria-label="Constitutions">
          {constitutions.map((c) => (
            <li key={c.id} className="card" aria-labelledby={`c-${c.id}`}>
              <div className="card-head">
                <h2 id={`c-${c.id}`}>{c.name}</h2>
                <span className="muted small">Edited {new Date(c.updatedAt).toLocaleDateString()}</span>
              </div>
              <p className="excerpt">{excerpt(c.body)}</p>
              <div className="card-actions">
                <button type="button" className="button primary" onClick={() => set({ deployTarget: c.id })} aria-label={`Deploy ${c.name}`}>
                  Deploy
                </button>
                <button type="button" className="button" onClick={() => setEditing({ id: c.id, name: c.name, body: c.body })} aria-label={`Edit ${c.name}`}>
                  Edit
                </button>
                <button type="button" className="button quiet danger-text" onClick={() => setDeleting(c)} aria-label={`Delete ${c.name}`}>
                  Delete
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
      {deleting && (
        <ConfirmDialog
          title={`Delete “${deleting.name}”?`}
          message="The document is removed from Dictumal. Desktops already deployed from it keep their copy."
          confirmLabel="Delete constitution"
          danger
          onClose={() => setDeleting(null)}
          onConfirm={async () => {
            const result = await guarded(() => window.dictumal.constitutions.remove(deleting.id))
            if (!result) return undefined
            if (!result.ok) return result.error.message
            await loadConstitutions()
            return undefined
          }}
        />
      )}
    </section>
  )
}

function excerpt(body: string): string {
  const text = body.replace(/[#>*_`-]/g, ' ').replace(/\s+/g, ' ').trim()
  return text.length > 160 ? `${text.slice(0, 159)}…` : text || 'Empty document'
}

function ConstitutionEditor({ initial }: { initial: Editing }) {
  const nameId = useId()
  const bodyId = useId()
  // A draft left from an earlier visit (a closed window, a crash) comes back with a note.
  const [restored] = useState(() => {
    const draft = loadDraft(initial.id)
    return draft && (draft.name !== initial.name || draft.body !== initial.body) ? draft : null
  })
  const [name, setName] = useState(restored?.name ?? initial.name)
  const [body, setBody] = useState(restored?.body ?? initial.body)
  const [tab, setTab] = useState<'write' | 'preview'>('write')
  const [busy, setBusy] = useState(false)
  const [triedSave, setTriedSave] = useState(false)
  const [error, setError] = useState<UserError | null>(null)
  const pendingLeave = useEditorStore((s) => s.pendingLeave)
  const setDirty = useEditorStore((s) => s.setDirty)
  const dirty = name !== initial.name || body !== initial.body

  useEffect(() => setDirty(dirty), [dirty, setDirty])
  useEffect(() => {
    const timer = window.setTimeout(() => (dirty ? saveDraft(initial.id, { name, body }) : discardDraft(initial.id)), DRAFT_DELAY_MS)
    return () => window.clearTimeout(timer)
  }, [dirty, name, body, initial.id])
  // Closing the window (or reloading) with unsaved changes asks first; main shows the question.
  useEffect(() => {
    if (!dirty) return
    const onUnload = (event: BeforeUnloadEvent) => {
      saveDraft(initial.id, { name, body })
      event.preventDefault()
      event.returnValue = ''
    }
    window.addEventListener('beforeunload', onUnload)
    return () => window.removeEventListener('beforeunload', onUnload)
  }, [dirty, name, body, initial.id])

  // The name's message follows the field: it goes as soon as there is a name.
  const nameError: UserError | null = triedSave && !name.trim() ? { code: 'name', message: 'Give the constitution a name.' } : null
  const shown = nameError ?? error

  const save = async () => {
    setTriedSave(true)
    if (!name.trim() || busy) return
    setBusy(true)
    setError(null)
    const input = initial.id ? { id: initial.id, name: name.trim(), body } : { name: name.trim(), body }
    const result = await guarded(() => window.dictumal.constitutions.save(input))
    setBusy(false)
    if (!result) return
    if (!result.ok) {
      setError(result.error)
      return
    }
    discardDraft(initial.id)
    await loadConstitutions()
    // Leaving was asked for while the save ran (a click on the sidebar right after Save): go there now.
    const then = useEditorStore.getState().pendingLeave
    closeEditor()
    then?.()
  }
  const saveRef = useRef(save)
  saveRef.current = save
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key.toLowerCase() !== 's' || !(event.ctrlKey || event.metaKey) || event.shiftKey || event.altKey) return
      event.preventDefault()
      if (!document.querySelector('dialog[open]')) void saveRef.current()
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [saveRef])

  return (
    <section aria-labelledby="editor-title">
      <form
        className="editor"
        onSubmit={(event) => {
          event.preventDefault()
          void save()
        }}
      >
        <div className="page-head">
          <h1 id="editor-title">{initial.id ? 'Edit constitution' : 'New constitution'}</h1>
          <div className="row">
            <span className="muted small" aria-live="polite">
              {dirty ? 'Unsaved changes · draft kept' : ''}
            </span>
            <button type="button" className="button" onClick={() => leaveEditor()} disabled={busy}>
              Cancel
            </button>
            <button type="submit" className="button primary" disabled={busy} aria-keyshortcuts="Control+S Meta+S">
              {busy ? 'Saving…' : 'Save'}
            </button>
          </div>
        </div>
        {restored && (
          <div role="status" className="note">
            <p className="note-title">Restored your unsaved draft{restored.savedAt ? ` from ${new Date(restored.savedAt).toLocaleString()}` : ''}.</p>
            <p>Save keeps it; Cancel then Discard throws it away.</p>
          </div>
        )}
        <div className="field">
          <label htmlFor={nameId}>Name</label>
          <input
            id={nameId}
            value={name}
            onChange={(e) => {
              setName(e.target.value)
              if (error?.code !== 'name') setError(null)
            }}
            maxLength={120}
            autoFocus
            placeholder="Research desk"
            aria-invalid={nameError ? true : undefined}
          />
        </div>
        <div className="field grow">
          <div className="tabs" role="tablist" aria-label="Editor mode">
            <button type="button" role="tab" aria-selected={tab === 'write'} aria-controls={`${bodyId}-panel`} className="tab" onClick={() => setTab('write')}>
              Write
            </button>
            <button type="button" role="tab" aria-selected={tab === 'preview'} aria-controls={`${bodyId}-panel`} className="tab" onClick={() => setTab('preview')}>
              Preview
            </button>
          </div>
          <div id={`${bodyId}-panel`} role="tabpanel" className="tab-panel">
            {tab === 'write' ? (
              <>
                <label htmlFor={bodyId} className="visually-hidden">
                  Body (markdown)
                </label>
                <textarea
                  id={bodyId}
                  value={body}
                  onChange={(e) => {
                    setBody(e.target.value)
                    setError(null)
                  }}
                  spellCheck
                  rows={18}
                />
              </>
            ) : (
              <Suspense fallback={<p className="muted">Loading the preview…</p>}>
                <MarkdownPreview source={body} />
              </Suspense>
            )}
          </div>
          <p className="muted small">Markdown. It lands on the remote desktop as ~/Desktop/constitution.md.</p>
        </div>
        {shown && <ErrorNote error={shown} />}
      </form>
      {pendingLeave && !busy && (
        <ConfirmDialog
          title="Discard changes?"
          message={`Your changes to “${name.trim() || 'this constitution'}” are not saved. Discarding throws them and their draft away.`}
          confirmLabel="Discard changes"
          danger
          onClose={cancelLeave}
          onConfirm={async () => {
            confirmLeave()
            return undefined
          }}
        />
      )}
    </section>
  )
}

