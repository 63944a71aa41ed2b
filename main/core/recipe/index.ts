// The droplet recipe's public face: user data, the beacon's step list and parser, names and checks.
export {
  buildBakeUserData,
  buildUserData,
  constitutionFitError,
  SSHD_DROP_IN,
  type UserDataInput,
  type UserDataOptions,
} from './user-data'
export { RECIPE_VERSION } from './version'
export {
  BEACON_STEPS,
  BEACON_STEP_TITLES,
  describeBeaconFailure,
  stepDurations,
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
