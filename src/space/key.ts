import type { ConfigEntry } from '../schema/index.js';

/** A config's stable identity: its keys sorted, `KEY=value` joined by commas (journals and resume use it). */
export function configKey(config: ConfigEntry | Record<string, number>): string {
  return Object.keys(config)
    .sort()
    .map((k) => `${k}=${(config as Record<string, number>)[k]}`)
    .join(',');
}

/**
 * configKey remembered per config object, for inner loops that ask for the keys of the same configs again and again
 * (the search's). Each caller keeps its own; a config must not change after its key was taken.
 */
export function keyMemo(): (config: ConfigEntry) => string {
  const keys = new WeakMap<ConfigEntry, string>();
  return (config) => {
    let k = keys.get(config);
    if (k === undefined) keys.set(config, (k = configKey(config)));
    return k;
  };
}
