// One place that runs the app's commands, whether they come from the keyboard, the app menu or the
// tray (as navigate requests): each leaves the constitution editor through its unsaved-changes guard.
import { useEffect } from 'react'
import { create } from 'zustand'
import { leaveEditor, useEditorStore } from './editor-store'
import { commandFor, type Command } from './shortcuts'
import { guarded, onNavigateRequest, useAppStore } from './store'

export const STARTER = '# Purpose\n\nWhat this desktop is for.\n\n## Principles\n\n- \n'

/** The help sheet's visibility. */
export const useSheetStore = create<{ open: boolean }>(() => ({ open: false }))

/** The deployment card last clicked or focused: what "Open the selected desktop" opens. */
let selectedId: string | null = null

function trackSelection(event: Event): void {
  const card = event.target instanceof Element ? event.target.closest('[data-deployment-id]') : null
  if (!card) return
  selectedId = card.getAttribute('data-deployment-id')
  // Shown as a ring (styles.css), so Ctrl+O's target is visible; React does not manage this attribute.
  for (const other of document.querySelectorAll('[data-selected]')) if (other !== card) other.removeAttribute('data-selected')
  card.setAttribute('data-selected', 'true')
}

async function openSelected(): Promise<void> {
  const { deployments, set } = useAppStore.getState()
  const active = deployments.filter((d) => d.status === 'ACTIVE')
  const chosen = active.find((d) => d.id === selectedId) ?? (active.length === 1 ? active[0] : undefined)
  if (!chosen) {
    set({ view: 'deployments', fault: active.length === 0 ? 'No desktop is running yet.' : 'Click the running desktop to open first, then press the keys again.' })
    return
  }
  const result = await guarded(() => window.dictumal.deployments.open({ id: chosen.id, mode: 'embedded' }))
  if (result && !result.ok) set({ fault: result.error.message })
}

export function runCommand(command: Command): void {
  const app = useAppStore.getState()
  switch (command) {
    case 'shortcuts':
      useSheetStore.setState({ open: true })
      return
    case 'new-deployment':
      leaveEditor(() => app.set({ view: 'constitutions', deployTarget: '' }))
      return
    case 'new-constitution':
      leaveEditor(() => {
        app.set({ view: 'constitutions', deployTarget: null })
        useEditorStore.getState().open({ name: '', body: STARTER })
      })
      return
    case 'open-selected':
      leaveEditor(() => void openSelected())
      return
    case 'deployments':
    case 'constitutions':
    case 'settings':
      leaveEditor(() => app.setView(command))
      return
  }
}

/** Installs the page's key handler and takes over navigate requests from main; call once (App). */
export function useCommands(): void {
  useEffect(() => {
    const offNavigate = onNavigateRequest((request) => runCommand(request.view))
    const onKey = (event: KeyboardEvent): void => {
      if (event.defaultPrevented) return
      // A modal has the keyboard; its own keys (Escape, Enter) are the only ones that apply.
      if (document.querySelector('dialog[open]')) return
      const mac = useAppStore.getState().info?.platform === 'darwin'
      const command = commandFor(event, mac)
      if (!command) return
      event.preventDefault()
      runCommand(command)
    }
    window.addEventListener('keydown', onKey)
    document.addEventListener('focusin', trackSelection)
    document.addEventListener('pointerdown', trackSelection)
    return () => {
      offNavigate()
      window.removeEventListener('keydown', onKey)
      document.removeEventListener('focusin', trackSelection)
      document.removeEventListener('pointerdown', trackSelection)
    }
  }, [])
}
