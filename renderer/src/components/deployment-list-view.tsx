// Many desktops: filter chips (Running, Setting up, Failed, Hibernated, Destroyed), sort by name, age
// or cost, and a compact row view beside the cards. The choice is remembered in this window's
// localStorage (view settings only). The chips use the status badge's own words (format.ts).
import { useState } from 'react'
import type { Deployment, DeploymentStatus } from '../../../preload/contract'
import { age, costSoFar, money } from '../format'
import { guarded, useAppStore } from '../store'
import { StatusBadge } from './notes'

export type Chip = 'running' | 'setting-up' | 'failed' | 'hibernated' | 'destroyed'
export type SortKey = 'age' | 'name' | 'cost'
export type Layout = 'cards' | 'rows'

export interface ListView {
  /** No chip chosen: every desktop that is not destroyed. */
  chips: Chip[]
  sort: SortKey
  layout: Layout
}

const CHIPS: { chip: Chip; label: string; statuses: DeploymentStatus[] }[] = [
  { chip: 'running', label: 'Running', statuses: ['ACTIVE'] },
  { chip: 'setting-up', label: 'Setting up', statuses: ['PROVISIONING', 'CONFIGURING'] },
  { chip: 'failed', label: 'Failed', statuses: ['ERROR'] },
  { chip: 'hibernated', label: 'Hibernated', statuses: ['HIBERNATING', 'HIBERNATED'] },
  { chip: 'destroyed', label: 'Destroyed', statuses: ['DESTROYED'] },
]

const STORAGE_KEY = 'dictumal.deployments.view'
const DEFAULT_VIEW: ListView = { chips: [], sort: 'age', layout: 'cards' }

function readView(): ListView {
  try {
    const raw = JSON.parse(window.localStorage.getItem(STORAGE_KEY) ?? 'null') as Partial<ListView> | null
    if (!raw) return DEFAULT_VIEW
    const chips = Array.isArray(raw.chips) ? raw.chips.filter((c): c is Chip => CHIPS.some((x) => x.chip === c)) : []
    const sort = raw.sort === 'name' || raw.sort === 'cost' ? raw.sort : 'age'
    const layout = raw.layout === 'rows' ? 'rows' : 'cards'
    return { chips, sort, layout }
  } catch {
    return DEFAULT_VIEW
  }
}

export function useListView(): [ListView, (next: ListView) => void] {
  const [view, setView] = useState<ListView>(readView)
  const update = (next: ListView): void => {
    setView(next)
    try {
      window.localStorage.setItem(STORAGE_KEY, JSON.stringify(next))
    } catch {
      // The view still changes; it is only not remembered.
    }
  }
  return [view, update]
}

export interface ViewContext {
  titleOf(d: Deployment): string
  priceOf(slug: string): number | null
  now: number
}

/** The deployments the view shows, in its order. */
export function applyView(deployments: readonly Deployment[], view: ListView, context: ViewContext): Deployment[] {
  const statuses = new Set(view.chips.flatMap((chip) => CHIPS.find((c) => c.chip === chip)?.statuses ?? []))
  const shown = deployments.filter((d) => (statuses.size === 0 ? d.status !== 'DESTROYED' : statuses.has(d.status)))
  const cost = (d: Deployment): number => {
    const price = context.priceOf(d.size)
    return price === null ? -1 : costSoFar(price, d, context.now)
  }
  const byAge = (a: Deployment, b: Deployment) => b.createdAt.localeCompare(a.createdAt)
  const compare: Record<SortKey, (a: Deployment, b: Deployment) => number> = {
    age: byAge,
    name: (a, b) => context.titleOf(a).localeCompare(context.titleOf(b), undefined, { sensitivity: 'base', numeric: true }) || byAge(a, b),
    cost: (a, b) => cost(b) - cost(a) || byAge(a, b),
  }
  return [...shown].sort(compare[view.sort])
}

export function DeploymentListBar({ view, onChange, deployments }: { view: ListView; onChange(next: ListView): void; deployments: readonly Deployment[] }) {
  const count = (statuses: DeploymentStatus[]) => deployments.filter((d) => statuses.includes(d.status)).length
  const toggle = (chip: Chip) => onChange({ ...view, chips: view.chips.includes(chip) ? view.chips.filter((c) => c !== chip) : [...view.chips, chip] })
  return (
    <div className="list-bar">
      <div className="chips" role="group" aria-label="Show">
        {CHIPS.map(({ chip, label, statuses }) => (
          <button key={chip} type="button" className="chip" aria-pressed={view.chips.includes(chip)} onClick={() => toggle(chip)}>
            {label} <span className="chip-count">{count(statuses)}</span>
          </button>
        ))}
        {view.chips.length > 0 && (
          <button type="button" className="button quiet" onClick={() => onChange({ ...view, chips: [] })}>
            Clear
          </button>
        )}
      </div>
      <div className="list-bar-right">
        <label className="inline-field">
          <span>Sort</span>
          <select value={view.sort} onChange={(e) => onChange({ ...view, sort: e.target.value as SortKey })}>
            <option value="age">Newest first</option>
            <option value="name">Name</option>
            <option value="cost">Cost so far</option>
          </select>
        </label>
        <div className="segmented" role="group" aria-label="Layout">
          <button type="button" aria-pressed={view.layout === 'cards'} onClick={() => onChange({ ...view, layout: 'cards' })}>
            Cards
          </button>
          <button type="button" aria-pressed={view.layout === 'rows'} onClick={() => onChange({ ...view, layout: 'rows' })}>
            Rows
          </button>
        </div>
      </div>
    </div>
  )
}

/** One line per desktop: what it is, where, how it is doing, what it costs, and the main actions. */
export function DeploymentRows({ deployments, context, onDestroy }: { deployments: readonly Deployment[]; context: ViewContext; onDestroy(d: Deployment): void }) {
  const set = useAppStore((s) => s.set)
  const open = async (d: Deployment) => {
    const result = await guarded(() => window.dictumal.deployments.open({ id: d.id, mode: 'embedded' }))
    if (result && !result.ok) set({ fault: result.error.message })
  }
  return (
    <div className="rows-scroll">
      <table className="deployment-rows" aria-label="Deployments">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Status</th>
            <th scope="col" className="col-region">
              Region
            </th>
            <th scope="col">Size</th>
            <th scope="col" className="num col-age">
              Age
            </th>
            <th scope="col" className="num">
              Cost so far
            </th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {deployments.map((d) => {
            const title = context.titleOf(d)
            const price = context.priceOf(d.size)
            return (
              <tr key={d.id} data-deployment-id={d.id} data-status={d.status} tabIndex={-1}>
                <th scope="row" className="row-name" title={title}>
                  {title}
                </th>
                <td>
                  <StatusBadge status={d.status} />
                </td>
                <td className="slug col-region">{d.region}</td>
                <td className="slug">{d.size}</td>
                <td className="num col-age">{age(d.createdAt, d.destroyedAt ? Date.parse(d.destroyedAt) : context.now)}</td>
                <td className="num">{price === null ? '—' : money(costSoFar(price, d, context.now))}</td>
                <td className="row-actions">
                  {d.status === 'ACTIVE' && (
                    <button type="button" className="button primary" onClick={() => void open(d)} aria-label={`Open ${title}`}>
                      Open
                    </button>
                  )}
                  {d.status !== 'DESTROYED' && (
                    <button type="button" className="button quiet danger-text" onClick={() => onDestroy(d)} aria-label={`Destroy ${title}`}>
                      Destroy
                    </button>
                  )}
                </td>
              </tr>
            )
          })}
        </tbody>
      </table>
    </div>
  )
}
