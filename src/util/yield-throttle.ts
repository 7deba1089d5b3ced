/**
 * Long loops (attack steps, attribution batches, smoothing samples) let the event loop run now and then, so that
 * progress is drawn, a server stays responsive and Ctrl-C reaches the abort signal; yielding on every step would
 * cost too much. A throttle per run: tick() reports and yields at most once per interval.
 */
export class YieldThrottle {
  private last = Date.now();

  constructor(private readonly intervalMs = 50) {}

  /** When the interval has passed since the last yield: calls `report`, then lets the event loop run. */
  async tick(report?: () => void): Promise<void> {
    const now = Date.now();
    if (now - this.last < this.intervalMs) return;
    this.last = now;
    report?.();
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
  }
}
