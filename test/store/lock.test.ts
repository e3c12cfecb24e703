import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalLock } from '../../src/store/lock.js';

test('a lock holding our own pid on our host is stale (a restarted container reuses pids) and is taken over', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'tritune-lock-')), 'lock');
  writeFileSync(path, JSON.stringify({ pid: process.pid, host: hostname(), command: 'npx tune (the pod before the retry)' }) + '\n');
  const { lock, note } = JournalLock.acquire(path, 'npx tune (the retried pod)');
  assert.match(note ?? '', /took over .*lock, left by a run that no longer runs/);
  lock.release();
  assert.ok(!existsSync(path));
  // the same pid on another host is another machine's live run: refused
  writeFileSync(path, JSON.stringify({ pid: process.pid, host: `${hostname()}-other`, command: 'npx tune' }) + '\n');
  assert.throws(() => JournalLock.acquire(path, 'npx tune'), /another tune run is using this journal/);
});
