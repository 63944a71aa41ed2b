// Deployments: one card per desktop with live progress (pushed, never polled), costs and actions,
// plus droplets tagged `dictumal` that no local record owns.
import { useCallback, useEffect, useState } from 'react'
import { HIBERNATION_STAGES, type Deployment, type DeploymentStage, type UnmanagedDroplet } from '../../../preload/contract'
import { CostSummaryLine } from '../components/cost-summary'
import { DeploymentListBar, DeploymentRows, applyView, useListView } from '../components/deployment-list-view'
import { ConfirmDialog } from '../components/dialog'
import { CloudTroubleNote, SetupStepLine } from '../components/live-notes'
import { HealthDot } from '../components/health-dot'
import { displayTitle, RenameDialog } from '../components/rename'
import { CardMenu, DeployAgain, DestroyAndRetry, DestroyConfirm, Toast } from '../components/destroy-confirm'
import { StatusBadge } from '../components/notes'
import { SetupLogButton, SetupLogPanel } from '../components/setup-log'
import { useNow } from '../components/use-now'
import { CHECKS, SNAPSHOT_PRICE_PER_GIB_MONTH, STAGES, age, costSoFar, duration, hintsFor, isInProgress, money, snapshotMonthly, stageLabel } from '../format'
import { guarded, loadCatalog, useAppStore } from '../store'

export function DeploymentsView() {
  const deployments = useAppStore((s) => s.deployments)
  const unmanaged = useAppStore((s) => s.unmanaged)
  const catalog = useAppStore((s) => s.catalog)
  const set = useAppStore((s) => s.set)
  const [destroying, setDestroying] = useState<Deployment | null>(null)
  const [toast, setToast] = useState<string | null>(null)
  const clearToast = useCallback(() => setToast(null), [])
  const [hibernating, setHibernating] = useState<Deployment | null>(null)
  const constitutions = useAppStore((s) => s.constitutions)
  const now = useNow()
  const titleOf = (d: Deployment): string => displayTitle(d, constitutions?.find((c) => c.id === d.constitutionId)?.name)
  const [listView, setListView] = useListView()

  useEffect(() => {
    // Cards need hourly prices for "cost so far".
    if (catalog === null) void loadCatalog()
  }, [catalog])

  const live = deployments.filter((d) => d.status !== 'DESTROYED').sort(newestFirst)
  const gone = deployments.filter((d) => d.status === 'DESTROYED').sort(newestFirst)
  const priceOf = (slug: string): number | null => (catalog?.ok ? (catalog.value.sizes.find((s) => s.slug === slug)?.priceHourly ?? null) : null)
  const sizeOf = (slug: string) => (catalog?.ok ? catalog.value.sizes.find((s) => s.slug === slug) : undefined)
  // Filter chips, sort and the row view (components/deployment-list-view.tsx).
  const shown = applyView(deployments, listView, { titleOf, priceOf, now })

  return (
    <section aria-labelledby="deployments-title">
      <div className="page-head">
        <h1 id="deployments-title">Deployments</h1>
        <button type="button" className="button primary" onClick={() => set({ deployTarget: '' })}>
          New deployment
        </button>
      </div>
      {live.length === 0 ? (
        <div className="empty">
          <h2>No deployments yet</h2>
          <p>Write a constitution, then press Deploy: Dictumal builds a Linux desktop on your DigitalOcean account and opens it here.</p>
        </div>
      ) : (
        <>
          <CostSummaryLine deployments={live} />
          <DeploymentListBar view={listView} onChange={setListView} deployments={deployments} />
          {shown.length === 0 && <p className="muted">No desktops match these filters.</p>}
          {listView.layout === 'rows' ? (
            <DeploymentRows deployments={shown} context={{ titleOf, priceOf, now }} onDestroy={setDestroying} />
          ) : (
            <ul className="deployment-list" aria-label="Deployments">
              {shown.map((d) => (
                <DeploymentCard
                  key={d.id}
                  deployment={d}
                  now={now}
                  priceHourly={priceOf(d.size)}
                  priceMonthly={sizeOf(d.size)?.priceMonthly ?? null}
                  onDestroy={() => setDestroying(d)}
                  onHibernate={() => setHibernating(d)}
                />
              ))}
            </ul>
          )}
        </>
      )}
      {unmanaged.length > 0 && <UnmanagedList droplets={unmanaged} />}
      {gone.length > 0 && !listView.chips.includes('destroyed') && (
        <details className="history">
          <summary>Destroyed ({gone.length})</summary>
          <ul className="deployment-list" aria-label="Destroyed deployments">
            {gone.map((d) => (
              <DeploymentCard key={d.id} deployment={d} now={now} priceHourly={priceOf(d.size)} priceMonthly={null} onDestroy={() => {}} onHibernate={() => {}} />
            ))}
          </ul>
        </details>
      )}
      {hibernating && (
        <ConfirmDialog
          title={`Hibernate “${titleOf(hibernating)}”?`}
          message={hibernateMessage(hibernating, sizeOf(hibernating.size))}
          confirmLabel="Hibernate"
          onClose={() => setHibernating(null)}
          onConfirm={async () => {
            const result = await guarded(() => window.dictumal.deployments.hibernate(hibernating.id))
            if (result && !result.ok) return result.error.hint ? `${result.error.message} ${result.error.hint}` : result.error.message
            return undefined
          }}
        />
      )}
      {destroying && (
        <DestroyConfirm
          deployment={destroying}
          title={titleOf(destroying)}
          priceHourly={priceOf(destroying.size)}
          now={now}
          onClose={() => setDestroying(null)}
          onDestroyed={setToast}
        />
      )}
      <Toast message={toast} onDone={clearToast} />
    </section>
  )
}

function hibernateMessage(d: Deployment, size: { priceMonthly: number; diskGb: number } | undefined): string {
  const droplet = size ? ` instead of ${money(size.priceMonthly)} a month for the droplet` : ''
  const most = size ? ` (at most ${money(size.diskGb * SNAPSHOT_PRICE_PER_GIB_MONTH)} a month for this ${size.diskGb} GB disk)` : ''
  return (
    `Dictumal shuts the desktop down, saves its disk as a DigitalOcean snapshot, and deletes the droplet only once the snapshot is safe. ` +
    `While hibernated you pay only for the snapshot, $${SNAPSHOT_PRICE_PER_GIB_MONTH.toFixed(2)} per GB a month of used space${most},${droplet}. ` +
    `Resume brings it back with every file in a few minutes, at a new IP address.`
  )
}

function newestFirst(a: Deployment, b: Deployment): number {
  return b.createdAt.localeCompare(a.createdAt)
}

interface CardProps {
  deployment: Deployment
  now: number
  priceHourly: number | null
  /** The droplet's monthly price, for what hibernation saves. */
  priceMonthly: number | null
  onDestroy(): void
  onHibernate(): void
}

function DeploymentCard({ deployment: d, now, priceHourly, priceMonthly, onDestroy, onHibernate }: CardProps) {
  const [note, setNote] = useState<string | null>(null)
  const [renaming, setRenaming] = useState(false)
  // People know a desktop by its display name (its constitution's, numbered, or their own); the droplet name is what DigitalOcean shows.
  const constitutionName = useAppStore((s) => s.constitutions?.find((c) => c.id === d.constitutionId)?.name)
  const title = displayTitle(d, constitutionName)
  const titleId = `d-${d.id}`
  const running = isInProgress(d.status) || d.status === 'HIBERNATING'
  const snapshotCost = snapshotMonthly(d)
  const hints = hintsFor(d)

  const act = async (call: () => Promise<{ ok: true; value: unknown } | { ok: false; error: { message: string; hint?: string } }>, done?: string) => {
    setNote(null)
    const result = await guarded(call)
    if (!result) return
    if (!result.ok) setNote(result.error.hint ? `${result.error.message} ${result.error.hint}` : result.error.message)
    else if (done) setNote(done)
  }

  return (
    <li
      className={`card deployment status-${d.status.toLowerCase()}`}
      aria-labelledby={titleId}
      data-deployment-id={d.id}
      data-status={d.status}
      data-stage={d.stage}
      data-percent={Math.round(d.percent)}
    >
      <div className="card-head">
        <div className="title-block">
          <h2 id={titleId}>{title}</h2>
          {title !== d.name && <span className="muted small">{d.name}</span>}
          {d.status === 'ACTIVE' && <HealthDot deploymentId={d.id} title={title} />}
        </div>
        <StatusBadge status={d.status} />
      </div>
      <dl className="facts inline">
        <div>
          <dt>IP</dt>
          <dd className="num">{d.ip ?? '—'}</dd>
        </div>
        <div>
          <dt>Region</dt>
          <dd className="slug">{d.region}</dd>
        </div>
        <div>
          <dt>Size</dt>
          <dd className="slug">{d.size}</dd>
        </div>
        <div>
          <dt>Age</dt>
          <dd className="num">{age(d.createdAt, d.destroyedAt ? Date.parse(d.destroyedAt) : now)}</dd>
        </div>
        {d.status === 'HIBERNATED' ? (
          <>
            <div>
              <dt>Snapshot</dt>
              <dd className="num" data-testid="snapshot-cost">
                {snapshotCost === null ? '—' : `${money(snapshotCost)}/month`}
                {d.snapshotSizeGigabytes !== null && <span className="muted"> ({d.snapshotSizeGigabytes.toFixed(1)} GiB)</span>}
              </dd>
            </div>
            <div>
              <dt>Running it</dt>
              <dd className="num" data-testid="droplet-cost">{priceMonthly === null ? '—' : `${money(priceMonthly)}/month`}</dd>
            </div>
          </>
        ) : (
          <div>
            <dt>{d.status === 'DESTROYED' ? 'Total cost' : 'Cost so far'}</dt>
            <dd className="num">
              <span data-testid="cost">{priceHourly === null ? '—' : money(costSoFar(priceHourly, d, now))}</span>
              {priceHourly !== null && d.status !== 'DESTROYED' && (
                <span className="muted" data-testid="hourly-rate">
                  {' '}
                  at {money(priceHourly)}/h
                </span>
              )}
            </dd>
          </div>
        )}
      </dl>
      {d.status === 'HIBERNATED' && (
        <p className="note" data-testid="hibernated-note">
          Hibernated{d.hibernatedAt ? ` ${age(d.hibernatedAt, now)} ago` : ''}: the droplet is deleted and its disk is kept as a snapshot. Resume brings every file back.
        </p>
      )}
      {d.status !== 'ERROR' && d.error && (
        <div role="status" className="note">
          <p className="note-title">{d.error}</p>
        </div>
      )}

      {(running || d.status === 'ERROR') && <Progress deployment={d} title={title} now={now} />}
      {running && <SetupStepLine deploymentId={d.id} />}
      {running && <CloudTroubleNote deploymentId={d.id} now={now} />}

      {d.status === 'ERROR' && (
        <div role="alert" className="note error">
          <p className="note-title">{d.error ?? 'The desktop did not come up.'}</p>
        </div>
      )}
      {hints.length > 0 && (
        <ul className="hints" aria-label="Hints">
          {hints.map((hint) => (
            <li key={hint}>{hint}</li>
          ))}
        </ul>
      )}

      {d.status !== 'DESTROYED' && (
        <div className="card-actions">
          {d.status === 'ACTIVE' && (
            <>
              <button type="button" className="button primary" onClick={() => void act(() => window.dictumal.deployments.open({ id: d.id, mode: 'embedded' }))}>
                Open
              </button>
              <button type="button" className="button" onClick={() => void act(() => window.dictumal.deployments.open({ id: d.id, mode: 'window' }))}>
                Open in separate window
              </button>
              <button type="button" className="button" onClick={onHibernate} aria-label={`Hibernate ${title}`}>
                Hibernate
              </button>
            </>
          )}
          {d.status === 'HIBERNATED' && (
            <button type="button" className="button primary" onClick={() => void act(() => window.dictumal.deployments.resume(d.id))} aria-label={`Resume ${title}`}>
              Resume
            </button>
          )}
          {d.ip && (
            <button type="button" className="button" aria-label={`Copy IP address of ${title}`} onClick={() => void act(() => window.dictumal.deployments.copyIp(d.id), `Copied ${d.ip}`)}>
              Copy IP
            </button>
          )}
          {d.status === 'ERROR' && (
            <>
              <DestroyAndRetry deployment={d} title={title} />
              <SetupLogButton deployment={d} title={title} />
              <button type="button" className="button danger" onClick={onDestroy} aria-label={`Destroy ${title}`}>
                Destroy
              </button>
            </>
          )}
          <span className="action-note" role="status">
            {note}
          </span>
          {d.status !== 'ERROR' && <CardMenu title={title} onRename={() => setRenaming(true)} onDestroy={onDestroy} />}
        </div>
      )}
      {d.status === 'DESTROYED' && <DeployAgain deployment={d} title={title} />}
      {renaming && <RenameDialog deployment={d} title={title} onClose={() => setRenaming(false)} />}
    </li>
  )
}

function Progress({ deployment: d, title, now }: { deployment: Deployment; title: string; now: number }) {
  const hibernating = d.status === 'HIBERNATING'
  const stages: readonly DeploymentStage[] = hibernating ? HIBERNATION_STAGES : STAGES
  const current = stages.indexOf(d.stage)
  const end = d.activeAt ?? (d.status === 'ERROR' ? d.updatedAt : null)
  // A hibernation, or a resume, counts from its own start.
  const since = d.hibernation?.startedAt ?? d.createdAt
  const elapsed = (end && !hibernating ? Date.parse(end) : now) - Date.parse(since)
  const percent = Math.max(0, Math.min(100, Math.round(d.percent)))
  // The live tail of the setup log sits in Details while it sets up (read only while Details is open);
  // once followed it stays, showing the last lines, when the deployment fails.
  const [detailsOpen, setDetailsOpen] = useState(d.status === 'ERROR')
  const settingUp = isInProgress(d.status)
  const [followed, setFollowed] = useState(false)
  useEffect(() => {
    if (detailsOpen && settingUp) setFollowed(true)
  }, [detailsOpen, settingUp])
  return (
    <div className="progress">
      <div className="progress-line">
        <span className="progress-stage">{d.status === 'ERROR' ? `Stopped at: ${stageLabel(d.stage)}` : stageLabel(d.stage)}</span>
        <span className="num muted">
          <span className="progress-percent">{percent} %</span> · <span aria-label="Elapsed time">{duration(elapsed)}</span>
        </span>
      </div>
      <div
        className={d.status === 'ERROR' ? 'bar failed' : 'bar'}
        role="progressbar"
        aria-label={`Progress of ${title}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={`${percent} %, ${stageLabel(d.stage)}`}
      >
        <div className="bar-fill" style={{ width: `${percent}%` }} />
      </div>
      <ol className="stages" aria-label="Stages">
        {stages.map((stage, index) => {
          const state = index < current ? 'done' : index === current ? (d.status === 'ERROR' ? 'failed' : 'current') : 'pending'
          return (
            <li key={stage} className={`stage ${state}`} aria-current={index === current ? 'step' : undefined}>
              <span className="dot" aria-hidden="true" />
              {stageLabel(stage)}
              <span className="visually-hidden">
                {state === 'done' ? ' (done)' : state === 'current' ? ' (in progress)' : state === 'failed' ? ' (failed)' : ''}
              </span>
            </li>
          )
        })}
      </ol>
      {!hibernating && (
      // The four port checks are detail (issue 13): folded while it sets up, open once it failed.
      <details className="checks-details" open={d.status === 'ERROR'} onToggle={(event) => setDetailsOpen(event.currentTarget.open)}>
      <summary>Details</summary>
      <ul className="checks" aria-label="Readiness checks">
        {CHECKS.map(({ key, label }) => (
          <li key={key} className={d.checks[key] ? 'check up' : 'check down'} data-check={key}>
            <span className="dot" aria-hidden="true" />
            {label}
            <span className="check-state">{d.checks[key] ? 'up' : 'down'}</span>
          </li>
        ))}
      </ul>
      {detailsOpen && (settingUp || followed) && d.status !== 'DESTROYED' && <SetupLogPanel deployment={d} title={title} live={settingUp} />}
      </details>
      )}
    </div>
  )
}

function UnmanagedList({ droplets }: { droplets: UnmanagedDroplet[] }) {
  const [destroying, setDestroying] = useState<UnmanagedDroplet | null>(null)
  const [note, setNote] = useState<string | null>(null)
  const adopt = async (droplet: UnmanagedDroplet) => {
    setNote(null)
    const result = await guarded(() => window.dictumal.unmanaged.adopt(droplet.dropletId))
    if (result && !result.ok) setNote(result.error.message)
  }
  return (
    <section className="unmanaged" aria-labelledby="unmanaged-title">
      <h2 id="unmanaged-title">Droplets Dictumal did not start here</h2>
      <p className="muted">
        These droplets carry the <code>dictumal</code> tag but this computer has no record of them. They are billed like any other droplet.
      </p>
      <ul className="cards" aria-label="Unmanaged droplets">
        {droplets.map((u) => (
          <li key={u.dropletId} className="card compact" aria-label={u.name}>
            <div className="card-head">
              <h3>{u.name}</h3>
              <span className="muted small num">
                {u.ip ?? 'no IP'} · {u.region} · {u.size}
              </span>
            </div>
            <div className="card-actions">
              {u.canAdopt && (
                <button type="button" className="button" onClick={() => void adopt(u)} aria-label={`Adopt ${u.name}`}>
                  Adopt
                </button>
              )}
              <button type="button" className="button quiet danger-text" onClick={() => setDestroying(u)} aria-label={`Destroy ${u.name}`}>
                Destroy
              </button>
            </div>
          </li>
        ))}
      </ul>
      {note && (
        <p role="alert" className="error-text">
          {note}
        </p>
      )}
      {destroying && (
        <ConfirmDialog
          title={`Destroy droplet “${destroying.name}”?`}
          message="It is deleted from your DigitalOcean account for good."
          confirmLabel="Destroy"
          danger
          onClose={() => setDestroying(null)}
          onConfirm={async () => {
            const result = await guarded(() => window.dictumal.unmanaged.destroy(destroying.dropletId))
            return result && !result.ok ? result.error.message : undefined
          }}
        />
      )}
    </section>
  )
}
