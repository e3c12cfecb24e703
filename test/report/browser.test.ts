import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tune } from '../cli/run-cli.js';
import { tempDir, writeFixture } from './fixtures.js';
import { decodePng, inkStats } from './png.js';

/** $CHROMIUM, else `chromium` on PATH: where scripts/setup-chromium.sh (a step of `npm test`) looks, or installs it. */
const CHROMIUM = process.env.CHROMIUM || (process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'chromium')).find((p) => existsSync(p)) || 'chromium';
const MISSING = `${CHROMIUM} not found: install Chromium (npm test does where it may: root and apt-get) or set CHROMIUM=<path>`;
const MS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

/** Screenshots a page with headless Chromium (flags: no network, no GPU, throwaway profile) and decodes the PNG. */
function screenshot(url: string, out: string, size = '1280,1000') {
  const profile = tempDir('tritune-chromium-');
  try {
    const r = spawnSync(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--hide-scrollbars',
        `--user-data-dir=${profile}`,
        `--screenshot=${out}`,
        `--window-size=${size}`,
        url,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.ok(existsSync(out), `chromium wrote no screenshot (exit ${r.status}): ${String(r.stderr).slice(-500)}`);
    return decodePng(readFileSync(out));
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

// Chromium is required (npm test installs it or fails saying so); TRITUNE_SKIP_BROWSER=1 skips this for local development only.
const skip = process.env.TRITUNE_SKIP_BROWSER === '1' ? 'TRITUNE_SKIP_BROWSER=1' : false;

test('the PNG decoder and ink count tell a blank page from a drawn one', { skip }, () => {
  assert.ok(existsSync(CHROMIUM), MISSING);
  const dir = tempDir();
  const blank = join(dir, 'blank.html');
  writeFileSync(blank, '<!DOCTYPE html><html><body style="background:#fff"></body></html>');
  const s = inkStats(screenshot(pathToFileURL(blank).href, join(dir, 'blank.png'), '400,300'));
  assert.equal(s.nonWhiteFraction, 0);
  assert.equal(s.distinctColors, 0);
});

test('tune report renders in headless Chromium: the screenshot shows the charts, not a blank page', { skip }, () => {
  assert.ok(existsSync(CHROMIUM), MISSING);
  const dir = tempDir();
  writeFixture(join(dir, 'configs'), { N: 6144, K: 2560 }, MS, { bm: (m) => (m <= 16 ? 16 : 128) });
  const out = join(dir, 'report');
  const r = tune(['report', join(dir, 'configs'), '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const img = screenshot(pathToFileURL(join(out, 'index.html')).href, join(dir, 'shot.png'));
  assert.deepEqual([img.width, img.height], [1280, 1000]);
  const s = inkStats(img);
  // a similar fixture page measured ~8% non-white pixels in ~2000 colours (lines, text antialiasing); blank is 0 and 0
  assert.ok(s.nonWhiteFraction > 0.02, `only ${(s.nonWhiteFraction * 100).toFixed(2)}% of pixels are non-white`);
  assert.ok(s.distinctColors > 50, `only ${s.distinctColors} distinct colours`);
  // the series colours of the charts are on screen (tuned blue, default red)
  const has = (rgb: number) => {
    for (let i = 0; i < img.rgba.length; i += 4) if (((img.rgba[i]! << 16) | (img.rgba[i + 1]! << 8) | img.rgba[i + 2]!) === rgb) return true;
    return false;
  };
  assert.ok(has(0x1f77b4), 'the tuned line (#1f77b4) is not drawn');
  assert.ok(has(0xd62728), 'the default-config line (#d62728) is not drawn');
});
