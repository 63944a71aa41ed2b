// Constitutions: the documents a desktop is built around. List, write (with a preview), delete, deploy.
import { useId, useState } from 'react'
import type { Constitution, UserError } from '../../../preload/contract'
import { ConfirmDialog } from '../components/dialog'
import { MarkdownPreview } from '../components/markdown'
import { ErrorNote } from '../components/notes'
import { guarded, loadConstitutions, useAppStore } from '../store'

type Editing = { id?: string; name: string; body: string } | null

const STARTER = '# Purpose\n\nWhat this desktop is for.\n\n## Principles\n\n- \n'

export function ConstitutionsView() {
  const constitutions = useAppStore((s) => s.constitutions)
  const set = useAppStore((s) => s.set)
  const [editing, setEditing] = useState<Editing>(null)
  const [deleting, setDeleting] = useState<Constitution | null>(null)

  if (editing) {
    return <ConstitutionEditor initial={editing} onDone={() => setEditing(null)} />
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

function ConstitutionEditor({ initial, onDone }: { initial: NonNullable<Editing>; onDone(): void }) {
  const nameId = useId()
  const bodyId = useId()
  const [name, setName] = useState(initial.name)
  const [body, setBody] = useState(initial.body)
  const [tab, setTab] = useState<'write' | 'preview'>('write')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<UserError | null>(null)

  const save = async () => {
    if (!name.trim()) {
      setError({ code: 'name', message: 'Give the constitution a name.' })
      return
    }
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
    await loadConstitutions()
    onDone()
  }

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
            <button type="button" className="button" onClick={onDone} disabled={busy}>
              Cancel
            </button>
            <button type="submit" className="button primary" disabled={busy}>
              {busy ? 'Saving…' : 'Save'}
            </button>
          </div>
        </div>
        <div className="field">
          <label htmlFor={nameId}>Name</label>
          <input id={nameId} value={name} onChange={(e) => setName(e.target.value)} maxLength={120} autoFocus placeholder="Research desk" />
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
                <textarea id={bodyId} value={body} onChange={(e) => setBody(e.target.value)} spellCheck rows={18} />
              </>
            ) : (
              <MarkdownPreview source={body} />
            )}
          </div>
          <p className="muted small">Markdown. It lands on the remote desktop as ~/Desktop/constitution.md.</p>
        </div>
        {error && <ErrorNote error={error} />}
      </form>
    </section>
  )
}
