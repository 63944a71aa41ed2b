// The recipe's version: desktop images record the version they were baked with, and a deploy only
// starts from an image of the current one. Bump it whenever the install half changes what is on disk.
export const RECIPE_VERSION = 2
