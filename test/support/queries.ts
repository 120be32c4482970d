// A database whose statements outside transactions pass through a function of the test's (to count
// them, or to hold their answers back), the real database doing the work.
import type { Database } from '../../src/store/database.ts';

export function aroundQueries(db: Database, around: (sql: string, run: () => Promise<unknown>) => Promise<unknown>): Database {
  return new Proxy(db, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (property !== 'query') return value.bind(target);
      return (sql: string, ...rest: unknown[]) => around(sql, () => (value as (...args: unknown[]) => Promise<unknown>).call(target, sql, ...rest));
    },
  });
}
