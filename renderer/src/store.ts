// The renderer's state, fed only by window.dictumal answers and pushed events. Unexpected failures
// (a rejected promise) land in `fault`, the UI's one error surface; expected ones are Result values.
import { create } from 'zustand'
import type {
  AppInfo,
  AuthStatus,
  Catalog,
  Constitution,
  Deployment,
  DesktopState,
  NavigateRequest,
  Result,
  SettingsView,
  UnmanagedDroplet,
} from '../../preload/contract'

export type View = 'deployments' | 'constitutions' | 'settings'

/** What the deploy dialog is open for: a constitution id, or '' to let the user pick one. */
export type DeployTarget = string | null

interface AppState {
  view: View
  info: AppInfo | null
  auth: AuthStatus | null
  deployments: Deployment[]
  unmanaged: UnmanagedDroplet[]
  constitutions: Constitution[] | null
  catalog: Result<Catalog> | null
  settings: SettingsView | null
  desktop: DesktopState
  deployTarget: DeployTarget
  /** "Deploy again": the SSH keys of the desktop deployed again, taken (once) by the deploy dialog. */
  deploySshKeys: string[] | null
  fault: string | null
  setView(view: View): void
  set(patch: Partial<Omit<AppState, 'set' | 'setView'>>): void
}

export const useAppStore = create<AppState>((set) => ({
  view: 'deployments',
  info: null,
  auth: null,
  deployments: [],
  unmanaged: [],
  constitutions: null,
  catalog: null,
  settings: null,
  desktop: { deploymentId: null },
  deployTarget: null,
  deploySshKeys: null,
  fault: null,
  setView: (view) => set({ view }),
  set: (patch) => set(patch),
}))

const patch = (p: Partial<Omit<AppState, 'set' | 'setView'>>): void => useAppStore.getState().set(p)

/** Runs a call to main; an unexpected rejection becomes the app's fault banner instead of a stack trace. */
export async function guarded<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call()
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    patch({ fault: `Something went wrong: ${message.replace(/^Error invoking remote method '[^']+': /, '')}` })
    return undefined
  }
}

export async function loadConstitutions(): Promise<void> {
  const list = await guarded(() => window.dictumal.constitutions.list())
  if (list) patch({ constitutions: list })
}

export async function loadCatalog(): Promise<Result<Catalog> | undefined> {
  const catalog = await guarded(() => window.dictumal.catalog.get())
  if (catalog) patch({ catalog })
  return catalog
}

export async function loadSettings(): Promise<void> {
  const settings = await guarded(() => window.dictumal.settings.get())
  if (settings) patch({ settings })
}

export async function loadAuth(): Promise<void> {
  const auth = await guarded(() => window.dictumal.auth.status())
  if (auth) patch({ auth })
}

let navigationHandler: ((request: NavigateRequest) => void) | null = null

/** renderer/src/commands.ts takes navigate requests over (menu commands, the editor's guard). */
export function onNavigateRequest(handler: (request: NavigateRequest) => void): () => void {
  navigationHandler = handler
  return () => {
    if (navigationHandler === handler) navigationHandler = null
  }
}

/** The tray or the app menu (through main) asks for a page or a command. */
function navigateTo(request: NavigateRequest): void {
  if (navigationHandler) {
    navigationHandler(request)
    return
  }
  const { view } = request
  if (view === 'new-deployment') {
    useAppStore.getState().set({ view: 'constitutions', deployTarget: '' })
  } else {
    useAppStore.getState().setView('deployments')
  }
}

/** Loads everything once and subscribes to every pushed event; returns the unsubscribe function. */
export function connect(): () => void {
  const api = window.dictumal
  // A push can overtake the first list() answer; the push is newer, so the answer must not win.
  let pushed = { deployments: false, unmanaged: false }
  const offs = [
    api.deployments.onChanged((deployments) => {
      pushed = { ...pushed, deployments: true }
      patch({ deployments })
    }),
    api.unmanaged.onChanged((unmanaged) => {
      pushed = { ...pushed, unmanaged: true }
      patch({ unmanaged })
    }),
    api.auth.onChanged((auth) => {
      const before = useAppStore.getState().auth
      patch({ auth })
      // A new token can see a different account: prices, regions and keys may differ.
      if (before?.account?.email !== auth.account?.email) void loadCatalog()
    }),
    api.desktop.onChanged((desktop) => patch({ desktop })),
    api.onNavigate(navigateTo),
  ]
  // A navigation asked for before this page could hear it (the tray opened the window for it).
  void guarded(() => api.pendingNavigation()).then((request) => request && navigateTo(request))
  void guarded(() => api.app.info()).then((info) => info && patch({ info }))
  // After a reload main may still be showing a desktop; the toolbar must come back with it.
  void guarded(() => api.desktop.state()).then((desktop) => desktop && patch({ desktop }))
  void loadAuth()
  void guarded(() => api.deployments.list()).then((deployments) => {
    if (deployments && !pushed.deployments) patch({ deployments })
  })
  void guarded(() => api.unmanaged.list()).then((unmanaged) => {
    if (unmanaged && !pushed.unmanaged) patch({ unmanaged })
  })
  void loadConstitutions()
  void loadSettings()
  return () => {
    for (const off of offs) off()
  }
}
