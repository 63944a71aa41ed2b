// While main shows a remote desktop, the page keeps only a thin toolbar and an empty placeholder
// under it. Main places its native view exactly over the placeholder: the page measures it
// (ResizeObserver, so maximize and full screen on Linux count too) and reports it with whether any
// dialog or message of the app's own must show, in which case main hides the view.
import { useEffect, useRef, useState, type ReactNode } from 'react'
import type { DesktopAction, DesktopLayout, DesktopState } from '../../../preload/contract'
import { displayTitle } from '../components/rename'
import { HealthDot } from '../components/health-dot'
import { guarded, useAppStore } from '../store'

/** main/core/shell-policy.ts: the one key combination the remote desktop does not get. */
const LEAVE_SHORTCUT = 'Ctrl+Shift+F12'

const TOOLBAR: { action: DesktopAction; label: string }[] = [
  { action: 'back', label: '← Back to Dictumal' },
  { action: 'reconnect', label: 'Reconnect' },
  { action: 'fullscreen', label: 'Full screen' },
  { action: 'open-separately', label: 'Open in separate window' },
]

/** Anything of the app's own that the native view would otherwise hide. */
const COVERING = 'dialog[open], [role="dialog"], [role="alertdialog"], [role="alert"]'

function measure(element: HTMLElement): DesktopLayout {
  const rect = element.getBoundingClientRect()
  return { x: rect.x, y: rect.y, width: rect.width, height: rect.height, covered: document.querySelector(COVERING) !== null }
}

/** Reports the placeholder's layout to main whenever it changes (and only then). */
function useLayoutReports(placeholder: React.RefObject<HTMLDivElement | null>): void {
  useEffect(() => {
    const element = placeholder.current
    if (!element) return
    let last = ''
    let frame = 0
    const report = (): void => {
      cancelAnimationFrame(frame)
      frame = requestAnimationFrame(() => {
        const layout = measure(element)
        const key = JSON.stringify(layout)
        if (key === last) return
        last = key
        void guarded(() => window.dictumal.desktop.layout(layout))
      })
    }
    const resize = new ResizeObserver(report)
    resize.observe(element)
    // A dialog or message appearing anywhere covers the desktop; the observer sees it come and go.
    const dialogs = new MutationObserver(report)
    dialogs.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['open', 'role'] })
    window.addEventListener('resize', report)
    report()
    return () => {
      cancelAnimationFrame(frame)
      resize.disconnect()
      dialogs.disconnect()
      window.removeEventListener('resize', report)
    }
  }, [placeholder])
}

/**
 * Whether the window is full screen, for the toolbar button's label: flipped when the button is used,
 * and re-read when the window resizes (F11 or the window manager can change it too): a full-screen
 * window's page covers the whole screen.
 */
function useFullScreen(): { on: boolean; toggle(): void } {
  const [on, setOn] = useState(false)
  useEffect(() => {
    const sync = () => setOn(window.innerWidth >= window.screen.width && window.innerHeight >= window.screen.height)
    window.addEventListener('resize', sync)
    return () => window.removeEventListener('resize', sync)
  }, [])
  return { on, toggle: () => setOn((value) => !value) }
}

export function DesktopView({ state, banner }: { state: DesktopState & { deploymentId: string }; banner: ReactNode }) {
  const deployment = useAppStore((s) => s.deployments.find((d) => d.id === state.deploymentId))
  const constitutions = useAppStore((s) => s.constitutions)
  const set = useAppStore((s) => s.set)
  const placeholder = useRef<HTMLDivElement | null>(null)
  useLayoutReports(placeholder)
  const fullScreen = useFullScreen()
  const run = async (action: DesktopAction) => {
    const result = await guarded(() => window.dictumal.desktop.action(action))
    if (result && !result.ok) set({ fault: result.error.message })
  }
  const shownName = deployment ? displayTitle(deployment, constitutions?.find((c) => c.id === deployment.constitutionId)?.name) : 'the desktop'
  const name = deployment ? `${shownName}${deployment.ip ? ` · ${deployment.ip}` : ''}` : 'Remote desktop'
  return (
    <div className="desktop-shell" data-connecting={state.connecting ? 'true' : undefined}>
      <nav className="desktop-toolbar" aria-label="Desktop">
        {state.connecting ? (
          <button type="button" className="tool" onClick={() => void run('back')}>
            Cancel
          </button>
        ) : (
          TOOLBAR.map(({ action, label }) => (
            <button
              key={action}
              type="button"
              className="tool"
              aria-pressed={action === 'fullscreen' ? fullScreen.on : undefined}
              onClick={() => {
                if (action === 'fullscreen') fullScreen.toggle()
                void run(action)
              }}
            >
              {action === 'fullscreen' && fullScreen.on ? 'Exit full screen' : label}
            </button>
          ))
        )}
        {!state.connecting && <span className="desktop-hint">{LEAVE_SHORTCUT} brings the keyboard back here</span>}
        <span className="desktop-name">{name}</span>
        {deployment && <HealthDot deploymentId={deployment.id} title={shownName} reconnect={false} />}
      </nav>
      <div ref={placeholder} className="desktop-placeholder" data-testid="desktop-placeholder">
        {state.connecting && (
          <p role="status" className="desktop-connecting">
            Connecting to {shownName}…
          </p>
        )}
      </div>
      {banner}
    </div>
  )
}
