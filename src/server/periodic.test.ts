// Maintenance tasks run independently: one that throws is logged with its name and the others still run.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { captureLogs } from '../../test/support/log-capture.ts';
import { runEach } from './periodic.ts';

describe('runEach', () => {
  it('runs every task whatever the others do, logs a failing one by name, and sums what the rest did', async () => {
    const { logger, lines } = captureLogs();
    const ran: string[] = [];
    const done = await runEach(logger, {
      first: async () => (ran.push('first'), 2),
      broken: async () => {
        ran.push('broken');
        throw new Error('the processor answered an unknown status');
      },
      last: async () => (ran.push('last'), 3),
    });
    assert.deepEqual(ran, ['first', 'broken', 'last']);
    assert.equal(done, 5);
    const logged = lines.map((line) => JSON.parse(line) as { level: number; task?: string; msg: string });
    const failure = logged.find((line) => line.task === 'broken');
    assert.ok(failure, 'the failing task is logged');
    assert.equal(failure.level, 50);
    assert.match(failure.msg, /broken failed; the other tasks go on/);
  });
});
