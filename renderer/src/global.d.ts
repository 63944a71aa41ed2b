import type { DictumalApi } from '../../preload/contract'

declare global {
  interface Window {
    dictumal: DictumalApi
  }
}
