/**
 * Group commit for pointer publishing (issue 19): when nothing is being published, a write is flushed
 * at once (no added latency when idle); writes that arrive while a flush is being prepared or is in
 * flight wait for the next one, which starts at most `windowMs` after the first of them — or as soon
 * as every flush in flight is over, if that comes first.
 */
export interface GroupCommit {
  /** Something was queued: flush now, or arm the window. */
  request(): void;
  /** Stops arming timers; flushes in flight finish. */
  close(): void;
}

/**
 * `flush` takes whatever is queued when it runs and resolves once what it sent is mined (or failed);
 * `hasQueued` says whether anything waits for a flush.
 */
export function createGroupCommit(options: { flush: () => Promise<void>; hasQueued: () => boolean; windowMs: number }): GroupCommit {
  const { flush, hasQueued, windowMs } = options;
  let active = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  function start(): void {
    clearTimeout(timer);
    timer = undefined;
    active++;
    void flush()
      .catch(() => undefined) // each waiter hears its own outcome from the flush
      .finally(() => {
        active--;
        if (active === 0 && hasQueued() && !closed) start();
      });
  }

  return {
    request() {
      if (closed) return;
      if (active === 0) return start();
      if (timer) return;
      timer = setTimeout(start, windowMs);
      timer.unref();
    },
    close() {
      closed = true;
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
