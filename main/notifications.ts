// OS notifications when a deployment becomes ACTIVE or ERROR. What to say is decided in
// core/tray-menu (notificationFor / trackTransitions); this module only shows it.
import { Notification } from 'electron'
import type { Deployment } from '../preload/contract'
import { log } from './core/log'
import { trackTransitions } from './core/tray-menu'
import type { TrayNotification } from './core/tray-menu'

// A notification that is garbage-collected loses its click handler: hold each until it is done.
const showing = new Set<Notification>()

export function notifyTransition(note: TrayNotification, onClick: (deploymentId: string) => void): void {
  if (!Notification.isSupported()) return
  const notification = new Notification({
    title: note.title,
    body: note.body,
    urgency: note.kind === 'error' ? 'critical' : 'normal',
  })
  const release = (): void => {
    showing.delete(notification)
  }
  notification.on('click', () => {
    release()
    // A hibernated desktop has nothing to open.
    if (note.kind !== 'hibernated') onClick(note.deploymentId)
  })
  notification.on('close', release)
  notification.on('failed', (_event, error) => {
    release()
    log.warn('notifications', `could not show a notification: ${error}`)
  })
  showing.add(notification)
  notification.show()
}

/** Tells the user something failed that they asked for outside the window (the tray); one sentence, no secrets. */
export function notifyFailure(title: string, sentence: string): void {
  if (!Notification.isSupported()) return
  const notification = new Notification({ title, body: sentence, urgency: 'normal' })
  const release = (): void => {
    showing.delete(notification)
  }
  notification.on('close', release)
  notification.on('click', release)
  notification.on('failed', release)
  showing.add(notification)
  notification.show()
}

/**
 * Idle auto-hibernate's warning: "Keep running" (a button where the OS offers one, else a click on the
 * notification) restarts the desktop's idle clock.
 */
export function notifyIdle(name: string, minutesLeft: number, onKeep: () => void): void {
  if (!Notification.isSupported()) return
  const notification = new Notification({
    title: `${name} will hibernate in ${minutesLeft} min`,
    body: 'Nobody has had this desktop open for a while. Click to keep it running; hibernating keeps every file and costs only the snapshot.',
    actions: [{ type: 'button', text: 'Keep running' }],
    urgency: 'normal',
  })
  const release = (): void => {
    showing.delete(notification)
  }
  const keep = (): void => {
    release()
    onKeep()
  }
  notification.on('action', keep)
  notification.on('click', keep)
  notification.on('close', release)
  notification.on('failed', release)
  showing.add(notification)
  notification.show()
}

export interface NotificationsOptions {
  getDeployments(): Deployment[]
  onChange(listener: () => void): () => void
  onClick(deploymentId: string): void
}

/** Watches deployment changes and notifies each transition once; returns the unsubscribe function. */
export function setupNotifications(options: NotificationsOptions): () => void {
  const track = trackTransitions()
  track(options.getDeployments())
  return options.onChange(() => {
    for (const note of track(options.getDeployments())) notifyTransition(note, options.onClick)
  })
}
