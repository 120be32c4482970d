// A logger at trace level whose every line is kept, for tests that check what the server logs (no
// secret, card number or token may appear in it).
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log/logger.ts';

export function captureLogs(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger('trace', destination), lines };
}
