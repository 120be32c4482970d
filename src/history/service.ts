// The buyer's history: a page of it for the wallet, or all of it (up to a cap) in pages for the CSV export.
import type { SqlClient } from '../store/database.ts';
import type { HistoryEntry, HistoryFilters, HistoryScope } from './model.ts';
import { listHistoryEntries } from './store.ts';

/** The most rows one export writes; a longer history is exported in date ranges (`created[gte]`/`created[lte]`). */
export const EXPORT_ROWS_MAX = 50_000;
/** Rows read from the database per round trip while exporting. */
export const EXPORT_PAGE_ROWS = 500;

export interface HistoryService {
  list(scope: HistoryScope, filters: HistoryFilters, page: { limit: number; startingAfter?: string }): Promise<{ data: HistoryEntry[]; hasMore: boolean }>;
  /** Every matching entry, newest first, page by page, stopping after `rowsMax` entries. */
  exportEntries(scope: HistoryScope, filters: HistoryFilters, rowsMax?: number): AsyncGenerator<HistoryEntry[]>;
}

export function createHistoryService(deps: { db: SqlClient }): HistoryService {
  const { db } = deps;
  return {
    list(scope, filters, page) {
      return listHistoryEntries(db, scope, filters, page);
    },

    async *exportEntries(scope, filters, rowsMax = EXPORT_ROWS_MAX) {
      let written = 0;
      let startingAfter: string | undefined;
      // Bounded: each round writes at least one row or stops, and at most rowsMax rows are written.
      while (written < rowsMax) {
        const limit = Math.min(EXPORT_PAGE_ROWS, rowsMax - written);
        const page = await listHistoryEntries(db, scope, filters, { limit, startingAfter });
        if (page.data.length === 0) return;
        written += page.data.length;
        yield page.data;
        if (!page.hasMore) return;
        startingAfter = page.data[page.data.length - 1]!.id;
      }
    },
  };
}
