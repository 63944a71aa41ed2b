// The droplet recipe's public face: user data, the beacon's step list and parser, names and checks.
export { buildUserData, SSHD_DROP_IN, type UserDataInput } from './user-data'
export {
  BEACON_STEPS,
  BEACON_STEP_TITLES,
  describeBeaconFailure,
  parseBeacon,
  type Beacon,
  type BeaconStep,
} from './beacon'
export {
  dropletNameFor,
  InvalidRecipeInputError,
  isDropletName,
  MAX_USER_DATA_BYTES,
  RecipeError,
  slugify,
  UserDataTooLargeError,
} from './validation'
export { DESKTOP_USER, DROPLET_PATHS, FIREWALL_ALLOWED_TCP_PORTS, GUACAMOLE_IMAGE, GUACD_IMAGE } from './paths'
