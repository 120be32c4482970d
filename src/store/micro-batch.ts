// Gathers calls made at about the same time into one statement: callers in the same tick, and those
// arriving while a statement runs, share the next one. For small statements outside the ledger's group
// commit (idempotency reservations and answers) whose round trips would otherwise dominate a request.

export interface MicroBatchOptions {
  /** Items per statement at most. */
  batchMax: number;
  /** Statements in flight at once. */
  inFlightMax: number;
}

interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

/** `run` answers one output per input, in order. */
export function createMicroBatcher<I, O>(run: (items: I[]) => Promise<O[]>, options: MicroBatchOptions): (item: I) => Promise<O> {
  const queue: Waiting<I, O>[] = [];
  let inFlight = 0;
  let scheduled = false;

  function flush(): void {
    while (inFlight < options.inFlightMax && queue.length > 0) {
      const batch = queue.splice(0, options.batchMax);
      inFlight += 1;
      run(batch.map((waiting) => waiting.item)).then(
        (outputs) => batch.forEach((waiting, index) => waiting.resolve(outputs[index]!)),
        (error: unknown) => batch.forEach((waiting) => waiting.reject(error)),
      ).finally(() => {
        inFlight -= 1;
        flush();
      });
    }
  }

  return (item) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(() => {
          scheduled = false;
          flush();
        });
      }
    });
}
