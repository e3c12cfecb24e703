import type { ConfigEntry } from '../schema/index.js';

/** A config's stable identity: its keys sorted, `KEY=value` joined by commas (journals and resume use it). */
export function configKey(config: ConfigEntry | Record<string, number>): string {
  return Object.keys(config)
    .sort()
    .map((k) => `${k}=${(config as Record<string, number>)[k]}`)
    .join(',');
}
