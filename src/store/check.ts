import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FAMILIES, type Family, type Meta, type TunedConfigFile } from '../schema/index.js';
import { DEFAULT_M_GRID } from './grid.js';
import { configFileName, metaFileName, parseConfigFileName } from './naming.js';
import { formatTunedConfig } from './format.js';
import { mKeys, parseTunedConfig, readMeta, readText } from './reader.js';

/** What `tune validate` says about one file: findings fail the check (exit 1), warnings do not. */
export interface FileReport {
  path: string;
  family: Family | null;
  keys: number[];
  findings: string[];
  warnings: string[];
}

/** What checkFile may let pass: `allowSimulated` turns sim results from a finding into a warning (trial runs of a pipeline). */
export interface CheckOptions {
  grid?: readonly number[];
  allowSimulated?: boolean;
}

const SIMULATED = 'results come from the sim backend (simulated numbers); they must not be published as tuned configs';

/** Where a sidecar contradicts its config file: family, the name its shape and device make, M it lacks (merge refuses these too). */
export function sidecarMismatches(name: string, family: Family, entries: TunedConfigFile, meta: Meta): string[] {
  const out: string[] = [];
  if (meta.family !== family) out.push(`sidecar: family is ${meta.family}, the file name says ${family}`);
  let named: string | null = null;
  try {
    named = configFileName(meta.family, meta.shape, meta.device.name);
  } catch (e) {
    out.push(`sidecar: its shape cannot name a ${meta.family} file (${(e as Error).message})`);
  }
  if (named !== null && named !== name) out.push(`sidecar: its family, shape and device.name make the file name ${named}, not ${name}`);
  const stray = Object.keys(meta.entries).filter((m) => !(m in entries));
  if (stray.length) out.push(`sidecar: entries for M not in the file: ${stray.join(', ')}`);
  return out;
}

/** Checks one tuned-config file and its sidecar; grid: the Ms whose absence is warned about. */
export function checkFile(path: string, { grid = DEFAULT_M_GRID, allowSimulated = false }: CheckOptions = {}): FileReport {
  const report: FileReport = { path, family: null, keys: [], findings: [], warnings: [] };
  const name = basename(path);
  const parsed = parseConfigFileName(name, dirname(path));
  if (!parsed) {
    report.findings.push(`name: not a tuned-config file name (expected e.g. N=6144,K=2560,device_name=NVIDIA_H100_80GB_HBM3,dtype=int8_w8a8.json)`);
    return report;
  }
  report.family = parsed.family;
  const folder = basename(dirname(path));
  if ((FAMILIES as readonly string[]).includes(folder) && folder !== parsed.family) {
    report.findings.push(`folder: the file name is a ${parsed.family} name but the file is in ${folder}/`);
  }
  const text = readText(path);
  const r = text.ok ? parseTunedConfig(text.value, parsed.family) : text;
  if (!r.ok) {
    report.findings.push(...r.problems);
    return report;
  }
  report.keys = mKeys(r.value);
  if (text.ok && text.value !== formatTunedConfig(parsed.family, r.value)) {
    report.warnings.push('layout differs from the canonical one (4-space indent, keys in family order, trailing newline)');
  }
  const metaPath = join(dirname(path), metaFileName(name));
  if (!existsSync(metaPath)) report.findings.push(`sidecar: ${metaFileName(name)} is missing (provenance and measurements go there)`);
  else {
    const m = readMeta(metaPath);
    if (!m.ok) report.findings.push(...m.problems.map((p) => `sidecar ${p}`));
    else {
      if (m.value.backend === 'sim' || m.value.simulated) (allowSimulated ? report.warnings : report.findings).push(`sidecar: ${SIMULATED}`);
      report.findings.push(...sidecarMismatches(name, parsed.family, r.value, m.value));
      const unmeasured = report.keys.filter((k) => !(String(k) in m.value.entries));
      if (unmeasured.length) report.warnings.push(`sidecar has no measurement for M ${unmeasured.join(', ')}`);
    }
  }
  const missing = grid.filter((g) => !report.keys.includes(g));
  if (missing.length) report.warnings.push(`M grid not covered: ${missing.join(' ')} (a server uses the nearest M there)`);
  return report;
}
