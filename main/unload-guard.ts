// The page refuses to unload (beforeunload) while the constitution editor has unsaved changes;
// Electron then cancels the close silently unless main asks. This asks "Discard changes?" over the
// window: closing anyway goes ahead (the page has kept a draft), Keep editing leaves the window open.
import { dialog, type BrowserWindow } from 'electron'

/** `closingForSystem`: a shutdown or logout is never held up by the question. */
export function askBeforeDiscarding(win: BrowserWindow, closingForSystem: () => boolean): void {
  win.webContents.on('will-prevent-unload', (event) => {
    if (closingForSystem()) {
      event.preventDefault()
      return
    }
    const choice = dialog.showMessageBoxSync(win, {
      type: 'question',
      buttons: ['Close anyway', 'Keep editing'],
      defaultId: 1,
      cancelId: 1,
      message: 'Discard changes?',
      detail: 'The constitution you are editing is not saved. Dictumal keeps a draft and offers it the next time you edit it.',
    })
    // preventDefault here overrides the page's beforeunload: the window closes.
    if (choice === 0) event.preventDefault()
  })
}
