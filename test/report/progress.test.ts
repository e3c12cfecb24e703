import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Progress } from '../../src/report/progress.js';

const sink = () => new Writable({ write: (_c, _e, done) => done() });

/** Runs `body` with Date.now() answering `at()` (the ETA reads the clock, nothing else). */
function withClock(body: (set: (s: number) => void) => void): void {
  const real = Date.now;
  let now = 1_000_000;
  Date.now = () => now;
  try {
    body((s) => (now = 1_000_000 + s * 1000));
  } finally {
    Date.now = real;
  }
}

test("the ETA leans on the plan's estimate while few trials are in, then on the run's own rate", () => {
  withClock((at) => {
    const p = new Progress('json', sink());
    at(0);
    p.start(1000, 0, 100);
    assert.equal(p.etaSeconds(), 100, 'before any trial: the estimate');
    at(20);
    p.trials(5, 0); // the first trials waited for compiles: 5 in 20 s would say 3980 s by rate alone
    const early = p.etaSeconds()!;
    assert.ok(early < 200 && early >= 80, `early ETA ${early} s`);
    at(60);
    p.trials(295, 0); // 300 done (more than a quarter): the rate alone, 700 left at 5 a second
    assert.equal(p.etaSeconds(), 140);
    p.stop();
  });
});

test('without an estimate (the sim or interpret backend) the ETA is the rate alone, none before a trial', () => {
  withClock((at) => {
    const p = new Progress('json', sink());
    at(0);
    p.start(100, 0);
    assert.equal(p.etaSeconds(), null);
    at(10);
    p.trials(10, 0);
    assert.equal(p.etaSeconds(), 90);
    p.stop();
  });
});
