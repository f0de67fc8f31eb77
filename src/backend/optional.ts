/** Loads a package that may be absent; the name is a variable so no compiler or bundler resolves it ahead. */
export function requireOptional(packageName: string): unknown {
  return require(packageName);
}
