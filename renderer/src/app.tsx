// The app shell: a title bar, navigation and the current view.
import { useEffect } from 'react'
import { useAppStore, type View } from './store'

const NAV: { view: View; label: string }[] = [
  { view: 'deployments', label: 'Deployments' },
  { view: 'constitutions', label: 'Constitutions' },
  { view: 'settings', label: 'Settings' },
]

export function App() {
  const view = useAppStore((s) => s.view)
  const setView = useAppStore((s) => s.setView)
  const info = useAppStore((s) => s.info)
  const setInfo = useAppStore((s) => s.setInfo)
  const setDeployments = useAppStore((s) => s.setDeployments)

  useEffect(() => {
    void window.dictumal.app.info().then(setInfo)
    return window.dictumal.deployments.onChanged(setDeployments)
  }, [setInfo, setDeployments])

  return (
    <div className="shell">
      <header className="titlebar">
        <span className="brand">
          <span className="brand-mark" aria-hidden="true" />
          Dictumal
        </span>
        {info && <span className="titlebar-meta">v{info.version}</span>}
      </header>
      <nav className="sidebar" aria-label="Main">
        <ul>
          {NAV.map((item) => (
            <li key={item.view}>
              <button
                type="button"
                className={item.view === view ? 'nav-item active' : 'nav-item'}
                aria-current={item.view === view ? 'page' : undefined}
                onClick={() => setView(item.view)}
              >
                {item.label}
              </button>
            </li>
          ))}
        </ul>
      </nav>
      <main className="content">
        <MainView view={view} />
      </main>
    </div>
  )
}

function MainView({ view }: { view: View }) {
  const deployments = useAppStore((s) => s.deployments)
  switch (view) {
    case 'deployments':
      return (
        <section aria-labelledby="deployments-title">
          <h1 id="deployments-title">Deployments</h1>
          {deployments.length === 0 ? (
            <div className="empty">
              <h2>No deployments yet</h2>
              <p>Write a constitution, then press Deploy: Dictumal builds a Linux desktop on your DigitalOcean account and opens it here.</p>
            </div>
          ) : (
            <ul>{deployments.map((d) => <li key={d.id}>{d.name}</li>)}</ul>
          )}
        </section>
      )
    case 'constitutions':
      return (
        <section aria-labelledby="constitutions-title">
          <h1 id="constitutions-title">Constitutions</h1>
          <div className="empty">
            <h2>No constitutions yet</h2>
            <p>A constitution is the document your desktop is built around.</p>
          </div>
        </section>
      )
    case 'settings':
      return (
        <section aria-labelledby="settings-title">
          <h1 id="settings-title">Settings</h1>
        </section>
      )
  }
}
