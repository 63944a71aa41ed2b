// The remote desktop (Guacamole) shown inside the app or in its own window, on a per-deployment
// in-memory session that trusts only that deployment's certificate, IP and port. Decisions live in
// core/pinning, core/guacamole-session and core/shell-policy; this module only wires them into Electron.
// A view stays hidden until its page has loaded (main/core/desktop-open.ts shows it), takes every key
// but the one that leaves it, and ends its Guacamole session when it closes.
import { BrowserWindow, session, WebContentsView } from 'electron'
import type { Rectangle, Session, WebContents } from 'electron'
import { revokeGuacamoleSession, SessionTokenTracker } from './core/guacamole-session'
import { log } from './core/log'
import { isLeaveDesktopShortcut } from './core/shell-policy'
import { AppError } from './core/user-error'
import {
  describeLoadFailure,
  desktopWebPreferences,
  isAllowedNavigation,
  isAllowedPermission,
  isAllowedRequest,
  partitionFor,
  pinDecision,
} from './core/pinning'
import type { DesktopPermissionSettings, OriginPin } from './core/pinning'

export interface DesktopTarget {
  id: string
  ip: string
  port: 443
  fingerprint: string
}

export interface OpenDesktopOptions {
  parent: BrowserWindow | null
  mode: 'embedded' | 'window'
  deployment: DesktopTarget
  /** Mints a fresh launch URL (new 5-minute token) each call. The URL is a secret: never logged. */
  launchUrl: () => Promise<string>
  /** Window title in 'window' mode. */
  title?: string
  /** Aborting closes the view; a first load still running then rejects. */
  signal?: AbortSignal
  /** What the remote page may do beyond the pinned origin's basics, read at each request (Settings). */
  permissions: () => DesktopPermissionSettings
  /** The user pressed the one key combination that leaves the remote desktop. */
  onLeave?: () => void
  /** Told when the page fails to load or its renderer dies; the message holds no URL. */
  onProblem?: (message: string) => void
  /** Told once when the view or window is gone (closed by the user, the parent, or close()). */
  onClosed?: () => void
}

export interface DesktopHandle {
  readonly deploymentId: string
  readonly mode: 'embedded' | 'window'
  readonly webContents: WebContents
  /** Embedded mode: where the view sits inside the parent's content area. No-op for 'window'. */
  setBounds(rect: Rectangle): void
  /** Embedded mode: shows or hides the view (hidden until loaded, and under the app's dialogs). */
  setVisible(visible: boolean): void
  /** Mints a new launch URL and loads it; rejects with a message that holds no URL. */
  reconnect(): Promise<void>
  focus(): void
  close(): void
  isClosed(): boolean
}

// Sessions outlive views (Electron keeps a partition's session until quit), so one-time listeners
// are attached once per session, and storage is wiped only when the last view on it closes.
const configuredSessions = new WeakSet<Session>()
const openViewsPerSession = new Map<Session, number>()
const tokenTrackers = new WeakMap<Session, SessionTokenTracker>()

/**
 * Everything the remote page may do is decided here, and it must be in place before the first
 * request: the network service caches certificate verdicts.
 */
function prepareSession(deployment: DesktopTarget, permissions: () => DesktopPermissionSettings): { ses: Session } {
  const pin: OriginPin = { ip: deployment.ip, port: deployment.port }
  const certificatePin = { ip: deployment.ip, fingerprint: deployment.fingerprint }
  const ses = session.fromPartition(partitionFor(deployment.id), { cache: false })

  ses.setCertificateVerifyProc((request, callback) => {
    callback(pinDecision({ hostname: request.hostname, fingerprint: request.certificate.fingerprint }, certificatePin))
  })
  ses.webRequest.onBeforeRequest({ urls: ['<all_urls>'] }, (details, callback) => {
    const allowed = isAllowedRequest(details.url, pin)
    if (!allowed) log.warn('desktop', `blocked a ${details.resourceType} request off the pinned origin`)
    callback({ cancel: !allowed })
  })
  // A different event from onBeforeRequest (each event keeps one listener): it only reads the
  // Guacamole-Token the web client sends, so closing the view can end that session.
  // One tracker per partition: its views share localStorage, and so Guacamole's session.
  const tracker = tokenTrackers.get(ses) ?? new SessionTokenTracker(pin)
  tokenTrackers.set(ses, tracker)
  ses.webRequest.onBeforeSendHeaders({ urls: ['https://*/*'] }, (details, callback) => {
    tracker.observe(details)
    callback({ requestHeaders: details.requestHeaders })
  })
  ses.setPermissionRequestHandler((_contents, permission, callback, details) => {
    callback(isAllowedPermission(permission, details.requestingUrl, pin, permissions()))
  })
  ses.setPermissionCheckHandler((_contents, permission, requestingOrigin) =>
    isAllowedPermission(permission, requestingOrigin, pin, permissions()),
  )
  ses.setDevicePermissionHandler(() => false)

  if (!configuredSessions.has(ses)) {
    configuredSessions.add(ses)
    ses.on('will-download', (event) => {
      event.preventDefault()
      log.warn('desktop', 'cancelled a download from the remote desktop page')
    })
  }
  return { ses }
}

/** Ends the Guacamole sessions the partition's pages opened; tokens are never logged. */
function revokeSessions(deployment: DesktopTarget, tokens: string[]): void {
  for (const token of tokens) {
    void revokeGuacamoleSession({ ip: deployment.ip, port: deployment.port, fingerprint: deployment.fingerprint }, token).then((outcome) => {
      if (outcome === 'failed') log.warn('desktop', 'could not end the Guacamole session of a closed desktop (it expires on its own)')
      else log.info('desktop', `Guacamole session of a closed desktop: ${outcome}`)
    })
  }
}

/** When the last view on a partition closes: end its Guacamole session and forget its storage. */
function releaseSession(ses: Session, deployment: DesktopTarget): void {
  const remaining = (openViewsPerSession.get(ses) ?? 1) - 1
  if (remaining > 0) {
    openViewsPerSession.set(ses, remaining)
    return
  }
  openViewsPerSession.delete(ses)
  revokeSessions(deployment, tokenTrackers.get(ses)?.takeAll() ?? [])
  // Guacamole keeps its auth token in localStorage; do not let it outlive the view.
  void ses.clearStorageData().catch((error: unknown) => log.warn('desktop', 'could not clear the desktop session', error))
  void ses.closeAllConnections().catch(() => undefined)
}

function guardContents(contents: WebContents, pin: OriginPin, onProblem: (message: string) => void, onLeave: () => void): void {
  contents.setWindowOpenHandler(() => {
    log.warn('desktop', 'denied a new window from the remote desktop page')
    return { action: 'deny' }
  })
  const guard = (event: { url: string; isMainFrame: boolean; preventDefault(): void }): void => {
    if (isAllowedNavigation(event.url, pin, { isMainFrame: event.isMainFrame })) return
    event.preventDefault()
    log.warn('desktop', 'blocked a navigation off the pinned origin')
  }
  contents.on('will-navigate', (event) => guard(event))
  contents.on('will-redirect', (event) => guard(event))
  contents.on('will-frame-navigate', (event) => guard(event))
  contents.on('will-attach-webview', (event) => event.preventDefault())
  // The default would hand the first certificate in the OS store to whoever asks.
  contents.on('select-client-certificate', (event) => event.preventDefault())
  contents.on('did-fail-load', (_event, errorCode, errorDescription, _validatedUrl, isMainFrame) => {
    // validatedUrl carries the launch token: it is deliberately not used.
    if (!isMainFrame || errorCode === -3) return // -3: aborted, e.g. by our own reconnect
    log.warn('desktop', `main frame failed to load: ${errorDescription || 'error'} (${errorCode})`)
    onProblem(describeLoadFailure(errorCode))
  })
  // Keys belong to the remote desktop: the app menu's accelerators do not fire while it has focus,
  // except the one combination that hands the keyboard back to Dictumal.
  contents.setIgnoreMenuShortcuts(true)
  contents.on('before-input-event', (event, input) => {
    if (!isLeaveDesktopShortcut(input)) return
    event.preventDefault()
    onLeave()
  })
  contents.on('render-process-gone', (_event, details) => {
    const message = `The desktop view stopped (${details.reason}). Reconnect to continue.`
    log.warn('desktop', message)
    onProblem(message)
  })
}

async function loadLaunchUrl(contents: WebContents, launchUrl: () => Promise<string>, pin: OriginPin): Promise<void> {
  const url = await launchUrl()
  // A gateway host other than the pinned IP would be refused by the session anyway; say why here.
  if (!isAllowedNavigation(url, pin, { isMainFrame: true })) {
    throw new AppError('desktop-not-pinned', 'The launch address is not the pinned https address of this deployment.')
  }
  try {
    await contents.loadURL(url)
  } catch (error: unknown) {
    // Electron's message quotes the URL (and so the token): keep only the error code, and do not
    // attach the original as `cause`, where a logger would find it.
    const match = error instanceof Error ? /(ERR_[A-Z_]+)(?: \((-?\d+)\))?/.exec(error.message) : null
    const errno = match?.[2] === undefined ? Number.NaN : Number(match[2])
    const sentence = Number.isFinite(errno) ? describeLoadFailure(errno) : `The desktop did not load${match?.[1] ? ` (${match[1]})` : ''}.`
    throw new AppError('desktop-load-failed', sentence)
  }
}

/**
 * Opens the remote desktop. Resolves once the first load succeeds; on failure (or when `signal`
 * aborts) the view is closed — onClosed is called — and the promise rejects with a message that
 * holds no URL. Embedded views start hidden: the caller shows them once placed.
 */
export async function openDesktop(options: OpenDesktopOptions): Promise<DesktopHandle> {
  const { deployment, mode, parent } = options
  const pin: OriginPin = { ip: deployment.ip, port: deployment.port }
  const onProblem = options.onProblem ?? (() => undefined)
  if (mode === 'embedded' && (!parent || parent.isDestroyed())) {
    throw new Error('openDesktop: embedded mode needs a live parent window')
  }
  if (options.signal?.aborted) throw new AppError('desktop-cancelled', 'Opening the desktop was cancelled.')

  const { ses } = prepareSession(deployment, options.permissions)
  const webPreferences = desktopWebPreferences(partitionFor(deployment.id))
  openViewsPerSession.set(ses, (openViewsPerSession.get(ses) ?? 0) + 1)

  let closed = false
  let finish = (): void => undefined
  // A view closed while its first load runs may never settle loadURL's promise (its webContents is
  // gone); this settles the open instead.
  let settleClosed = (): void => undefined
  const whenClosed = new Promise<never>((_resolve, reject) => {
    settleClosed = () => reject(new AppError('desktop-cancelled', 'The desktop was closed before it finished loading.'))
  })
  whenClosed.catch(() => undefined)
  const markClosed = (): void => {
    if (closed) return
    closed = true
    settleClosed()
    options.signal?.removeEventListener('abort', markClosed)
    finish()
    releaseSession(ses, deployment)
    options.onClosed?.()
  }

  let handle: DesktopHandle
  if (mode === 'embedded' && parent) {
    const view = new WebContentsView({ webPreferences })
    view.setBackgroundColor('#111318')
    // Hidden until loaded and placed: a loading page would cover the app's own toolbar and dialogs.
    view.setVisible(false)
    parent.contentView.addChildView(view)
    const onParentClosed = (): void => markClosed()
    parent.once('closed', onParentClosed)
    finish = () => {
      if (!parent.isDestroyed()) {
        parent.off('closed', onParentClosed)
        parent.contentView.removeChildView(view)
      }
      // A WebContentsView's contents are not destroyed with the view.
      if (!view.webContents.isDestroyed()) view.webContents.close()
    }
    view.webContents.once('destroyed', markClosed)
    handle = {
      deploymentId: deployment.id,
      mode,
      webContents: view.webContents,
      setBounds(rect) {
        if (closed) return
        view.setBounds({
          x: Math.round(rect.x),
          y: Math.round(rect.y),
          width: Math.max(0, Math.round(rect.width)),
          height: Math.max(0, Math.round(rect.height)),
        })
      },
      setVisible(visible) {
        if (!closed) view.setVisible(visible)
      },
      reconnect: () => loadLaunchUrl(view.webContents, options.launchUrl, pin),
      focus() {
        if (!closed) view.webContents.focus()
      },
      close: markClosed,
      isClosed: () => closed,
    }
  } else {
    const win = new BrowserWindow({
      width: 1280,
      height: 820,
      minWidth: 640,
      minHeight: 480,
      show: false,
      title: options.title ?? 'Dictumal desktop',
      backgroundColor: '#111318',
      autoHideMenuBar: true,
      webPreferences,
    })
    win.once('closed', markClosed)
    finish = () => {
      if (!win.isDestroyed()) win.destroy()
    }
    handle = {
      deploymentId: deployment.id,
      mode: 'window',
      webContents: win.webContents,
      setBounds() {
        // The separate window is sized by the user.
      },
      setVisible(visible) {
        if (closed) return
        if (visible) win.show()
        else win.hide()
      },
      reconnect: () => loadLaunchUrl(win.webContents, options.launchUrl, pin),
      focus() {
        if (closed) return
        if (win.isMinimized()) win.restore()
        win.show()
        win.focus()
      },
      close: markClosed,
      isClosed: () => closed,
    }
  }

  guardContents(handle.webContents, pin, onProblem, options.onLeave ?? (() => undefined))
  options.signal?.addEventListener('abort', markClosed, { once: true })
  try {
    await Promise.race([handle.reconnect(), whenClosed])
  } catch (error: unknown) {
    handle.close()
    throw error
  }
  if (closed) throw new AppError('desktop-cancelled', 'Opening the desktop was cancelled.')
  return handle
}
