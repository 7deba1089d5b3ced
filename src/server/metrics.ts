import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The server's Prometheus metrics, one registry per server (so tests and several servers in one process do not
 * share counters). Routes count themselves through the app's hooks; the compute pool sets the queue depth; the
 * job runner (evaluations) sets the jobs gauge with `setJobs`.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  /** Requests by route pattern (never the raw URL: its cardinality is unbounded), method and status. */
  readonly requests = new Counter({
    name: 'advkit_http_requests_total',
    help: 'HTTP requests answered, by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'advkit_http_request_duration_seconds',
    help: 'HTTP request latency in seconds, by route',
    labelNames: ['route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  /** Task runs waiting for a compute thread; beyond the configured bound the server answers 429. */
  readonly queueDepth = new Gauge({
    name: 'advkit_compute_queue_depth',
    help: 'task runs waiting for a compute thread',
    registers: [this.registry],
  });
  readonly computeRunning = new Gauge({
    name: 'advkit_compute_running',
    help: 'task runs on a compute thread now',
    registers: [this.registry],
  });
  /** Evaluation jobs by state (queued, running, done, failed, cancelled), set by the job runner. */
  readonly jobs = new Gauge({
    name: 'advkit_jobs',
    help: 'evaluation jobs by state',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  /** Sets the number of jobs in one state; the job runner calls it whenever a job changes state. */
  setJobs(state: string, count: number): void {
    this.jobs.set({ state }, count);
  }

  /** Sets the number of task runs waiting for a compute thread. */
  setQueueDepth(depth: number): void {
    this.queueDepth.set(depth);
  }
}

/** `metrics.setJobs(state, count)`, as a free function for callers that hold only the metrics object. */
export function jobsGauge(metrics: ServerMetrics, state: string, count: number): void {
  metrics.setJobs(state, count);
}

/** `metrics.setQueueDepth(depth)`, as a free function. */
export function queueDepth(metrics: ServerMetrics, depth: number): void {
  metrics.setQueueDepth(depth);
}
