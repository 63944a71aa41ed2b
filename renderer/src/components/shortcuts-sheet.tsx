// The keyboard help sheet (F1 or ?, or Help › Keyboard Shortcuts): every command's keys for this
// platform, the editor's and dialogs' keys, and the one combination that leaves the embedded desktop.
import { useSheetStore } from '../commands'
import { COMMAND_SHORTCUTS, OTHER_SHORTCUTS, keyLabel } from '../shortcuts'
import { useAppStore } from '../store'
import { Dialog } from './dialog'

export function ShortcutsSheet() {
  const open = useSheetStore((s) => s.open)
  const mac = useAppStore((s) => s.info?.platform === 'darwin')
  if (!open) return null
  const close = () => useSheetStore.setState({ open: false })
  const rows = [...COMMAND_SHORTCUTS, ...OTHER_SHORTCUTS]
  return (
    <Dialog
      title="Keyboard shortcuts"
      onClose={close}
      wide
      actions={
        <button type="button" className="button primary" onClick={close} autoFocus>
          Close
        </button>
      }
    >
      <table className="shortcuts">
        <tbody>
          {rows.map((row) => (
            <tr key={row.keys}>
              <th scope="row">
                <kbd>{keyLabel(row.keys, mac)}</kbd>
              </th>
              <td>{row.label}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Dialog>
  )
}
