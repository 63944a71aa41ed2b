// The store's public surface: open it, read snapshots, update under the cross-process lock.
export { openStore, StoreCorruptError, StoreValidationError, STORE_FILE_NAME } from './store'
export type { Store, StoreOptions, ChangeListener, CorruptListener } from './store'
export { StoreLockTimeoutError } from './file-lock'
export { DEFAULT_SETTINGS, SCHEMA_VERSION, emptyStoreData } from './schema'
export type { Settings, StoreData } from './schema'
export * from './records'
