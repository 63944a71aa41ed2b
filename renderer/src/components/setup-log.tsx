// The droplet's setup log (issue 13, items 5 and 6): the end of /var/log/dictumal-init.log as main reads
// it with the deployment's log key (the key never comes here). A live tail in a setting-up card's
// Details (every 3 s while it is open and the window visible, until the deployment settles), and a
// dialog from a failed card. The text arrives already stripped of control characters.
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react'
import type { Deployment, SetupLogTail } from '../../../preload/contract'
import { Dialog } from './dialog'
import { guarded } from '../store'
import './setup-log.css'

export const SETUP_LOG_REFRESH_MS = 3000
const SSH_HINT = 'tail -f /var/log/dictumal-init.log'

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `updated ${s} s ago`
  const m = Math.floor(s / 60)
  return `updated ${m} min ago`
}

function useVisible(): boolean {
  const [visible, setVisible] = useState(() => document.visibilityState === 'visible')
  useEffect(() => {
    const update = () => setVisible(document.visibilityState === 'visible')
    document.addEventListener('visibilitychange', update)
    return () => document.removeEventListener('visibilitychange', update)
  }, [])
  return visible
}

interface PanelProps {
  deployment: Pick<Deployment, 'id' | 'ip'>
  title: string
  /** Re-read every few seconds (a deployment still setting up); otherwise only on Refresh. */
  live: boolean
}

/** The log itself with Refresh and Copy; it asks main only while mounted. */
export function SetupLogPanel({ deployment, title, live }: PanelProps) {
  const [tail, setTail] = useState<SetupLogTail | null>(null)
  const [problem, setProblem] = useState<string | null>(null)
  const [loading, setLoading] = useState(false)
  const [copied, setCopied] = useState<string | null>(null)
  const [now, setNow] = useState(() => Date.now())
  const visible = useVisible()
  const pre = useRef<HTMLPreElement>(null)
  const atEnd = useRef(true)
  const inFlight = useRef(false)
  const id = deployment.id

  const load = useCallback(async () => {
    if (inFlight.current) return
    inFlight.current = true
    setLoading(true)
    const result = await guarded(() => window.dictumal.deployments.setupLog(id))
    inFlight.current = false
    setLoading(false)
    if (!result) return
    if (result.ok) {
      setTail(result.value)
      setProblem(null)
    } else {
      setProblem(result.error.hint ? `${result.error.message} ${result.error.hint}` : result.error.message)
    }
  }, [id])

  // On opening, and once more when the deployment settles (its last lines: the failure, or "finished").
  useEffect(() => {
    void load()
  }, [load, live])

  useEffect(() => {
    if (!live || !visible) return
    void load()
    const timer = setInterval(() => void load(), SETUP_LOG_REFRESH_MS)
    return () => clearInterval(timer)
  }, [live, visible, load])

  // "updated 2 s ago" ticks on its own; it never asks main.
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(timer)
  }, [])

  // Follow the end, as `tail -f` does, unless the reader scrolled up to read.
  useLayoutEffect(() => {
    const el = pre.current
    if (el && atEnd.current) el.scrollTop = el.scrollHeight
  }, [tail])

  const copy = async () => {
    setCopied(null)
    const result = await guarded(() => window.dictumal.deployments.copySetupLog(id))
    if (!result) return
    setCopied(result.ok ? `Copied ${result.value.lines} ${result.value.lines === 1 ? 'line' : 'lines'}.` : result.error.message)
  }

  const empty = tail !== null && tail.text.trim() === ''
  return (
    <div className="setup-log" data-testid="setup-log">
      <div className="setup-log-bar">
        <span className="muted small" data-testid="setup-log-age" aria-live="off">
          {tail ? ago(now - Date.parse(tail.fetchedAt)) : loading ? 'Reading the log…' : ''}
          {tail?.truncated ? ' · showing the last 64 KiB' : ''}
          {live && visible ? ' · refreshes every 3 s' : ''}
        </span>
        <span className="setup-log-actions">
          <button type="button" className="button small" onClick={() => void load()} disabled={loading} aria-label={`Refresh the setup log of ${title}`}>
            Refresh
          </button>
          <button type="button" className="button small" onClick={() => void copy()} disabled={tail === null || empty} aria-label={`Copy the setup log of ${title}`}>
            Copy
          </button>
        </span>
      </div>
      {problem && (
        <p role="status" className="note warn setup-log-problem" data-testid="setup-log-problem">
          {problem}
        </p>
      )}
      {empty && !problem && <p className="muted small">The droplet has not written anything to its setup log yet.</p>}
      {tail && !empty && (
        <pre
          ref={pre}
          className="setup-log-text"
          tabIndex={0}
          aria-label={`Setup log of ${title}`}
          data-testid="setup-log-text"
          onScroll={(event) => {
            const el = event.currentTarget
            atEnd.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24
          }}
        >
          {tail.text}
        </pre>
      )}
      {copied && (
        <p className="muted small" role="status">
          {copied}
        </p>
      )}
      {deployment.ip && (
        <p className="muted small">
          With an SSH key on the droplet you can follow it yourself: <code>ssh root@{deployment.ip} {SSH_HINT}</code>
        </p>
      )}
    </div>
  )
}

/** "Setup log" on a failed card: the log in a dialog, next to Destroy and retry. */
export function SetupLogButton({ deployment, title }: { deployment: Pick<Deployment, 'id' | 'ip'>; title: string }) {
  const [open, setOpen] = useState(false)
  return (
    <>
      <button type="button" className="button" onClick={() => setOpen(true)} aria-label={`Setup log of ${title}`}>
        Setup log
      </button>
      {open && (
        <Dialog
          title={`Setup log of “${title}”`}
          description="The end of /var/log/dictumal-init.log on the droplet: what its setup did before it stopped."
          wide
          onClose={() => setOpen(false)}
          actions={
            <button type="button" className="button primary" onClick={() => setOpen(false)} autoFocus>
              Close
            </button>
          }
        >
          <SetupLogPanel deployment={deployment} title={title} live={false} />
        </Dialog>
      )}
    </>
  )
}
