// The app shell: title bar, navigation and the current view; the first-run token screen before
// that; and, while main shows a remote desktop, only the thin desktop toolbar above it.
import { useEffect } from 'react'
import { runCommand, useCommands } from './commands'
import { BrandMark } from './components/brand-mark'
import { ShortcutsSheet } from './components/shortcuts-sheet'
import { DeploymentCounts } from './components/nav-counts'
import { DeployDialog } from './views/deploy-dialog'
import { DesktopView } from './views/desktop'
import { ConstitutionsView } from './views/constitutions'
import { DeploymentsView } from './views/deployments'
import { SettingsView } from './views/settings'
import { Welcome } from './views/welcome'
import { assertNever } from './format'
import { connect, loadCatalog, useAppStore, type View } from './store'

const NAV: { view: View; label: string }[] = [
  { view: 'deployments', label: 'Deployments' },
  { view: 'constitutions', label: 'Constitutions' },
  { view: 'settings', label: 'Settings' },
]

export function App() {
  const view = useAppStore((s) => s.view)
  const setView = useAppStore((s) => s.setView)
  const info = useAppStore((s) => s.info)
  const auth = useAppStore((s) => s.auth)
  const desktop = useAppStore((s) => s.desktop)
  const deployTarget = useAppStore((s) => s.deployTarget)

  useEffect(() => connect(), [])
  useCommands()
  const hasToken = auth !== null && auth.source !== 'none'
  useEffect(() => {
    if (hasToken) void loadCatalog()
  }, [hasToken])

  if (desktop.deploymentId) return <DesktopView state={{ ...desktop, deploymentId: desktop.deploymentId }} banner={<FaultBanner />} />

  return (
    <div className="shell">
      <header className="titlebar">
        <span className="brand">
          <BrandMark />
          Dictumal
        </span>
        {info && <span className="titlebar-meta">v{info.version}</span>}
      </header>
      {auth === null ? (
        <main className="content full" aria-busy="true" />
      ) : !hasToken ? (
        <main className="content full">
          <Welcome />
        </main>
      ) : (
        <>
          <nav className="sidebar" aria-label="Main">
            <ul>
              {NAV.map((item) => (
                <li key={item.view}>
                  <button
                    type="button"
                    className={item.view === view ? 'nav-item active' : 'nav-item'}
                    aria-current={item.view === view ? 'page' : undefined}
                    onClick={() => runCommand(item.view)}
                  >
                    {item.label}
                    {item.view === 'deployments' && <DeploymentCounts />}
                  </button>
                </li>
              ))}
            </ul>
          </nav>
          <main className="content">
            {info?.notice && (
              <div role="alert" className="note banner">
                <p className="note-title">{info.notice}</p>
              </div>
            )}
            {auth.problem && view !== 'settings' && (
              <div role="alert" className="note error banner">
                <p className="note-title">{auth.problem.message}</p>
                {auth.problem.hint && <p>{auth.problem.hint}</p>}
                <button type="button" className="button" onClick={() => setView('settings')}>
                  Open settings
                </button>
              </div>
            )}
            <MainView view={view} />
          </main>
          {deployTarget !== null && <DeployDialog target={deployTarget} />}
        </>
      )}
      <ShortcutsSheet />
      <FaultBanner />
    </div>
  )
}

function MainView({ view }: { view: View }) {
  switch (view) {
    case 'deployments':
      return <DeploymentsView />
    case 'constitutions':
      return <ConstitutionsView />
    case 'settings':
      return <SettingsView />
    default:
      return assertNever(view)
  }
}

/** The one place unexpected failures surface in the UI (details are in main's log). */
function FaultBanner() {
  const fault = useAppStore((s) => s.fault)
  const set = useAppStore((s) => s.set)
  if (!fault) return null
  return (
    <div role="alert" className="fault">
      <span>{fault}</span>
      <button type="button" className="button quiet" onClick={() => set({ fault: null })}>
        Dismiss
      </button>
    </div>
  )
}
