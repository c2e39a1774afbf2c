/** The outbox's in-flight slots (outbox.ts, `maxInFlight`): a send beyond them waits, first come first served. */
export interface Slots {
  /** Resolves once a slot is free and taken. */
  take(): Promise<void>;
  give(): void;
}

export function createSlots(size: number): Slots {
  if (!(size >= 1)) throw new Error(`maxInFlight must be at least 1 (got ${size})`);
  let free = size;
  const queue: (() => void)[] = [];
  return {
    take() {
      if (free > 0) {
        free--;
        return Promise.resolve();
      }
      return new Promise((resolve) => queue.push(resolve));
    },
    give() {
      const next = queue.shift();
      if (next) next(); // the slot passes straight to the next in line
      else free++;
    },
  };
}
