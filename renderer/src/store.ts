// The renderer's state, fed only by window.dictumal answers and pushed events.
import { create } from 'zustand'
import type { AppInfo, Deployment } from '../../preload/contract'

export type View = 'deployments' | 'constitutions' | 'settings'

interface AppState {
  view: View
  info: AppInfo | null
  deployments: Deployment[]
  setView(view: View): void
  setInfo(info: AppInfo): void
  setDeployments(deployments: Deployment[]): void
}

export const useAppStore = create<AppState>((set) => ({
  view: 'deployments',
  info: null,
  deployments: [],
  setView: (view) => set({ view }),
  setInfo: (info) => set({ info }),
  setDeployments: (deployments) => set({ deployments }),
}))
