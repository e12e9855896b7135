// Embedded-metric log lines into the metric store, as CloudWatch Logs extracts them: every valid
// metric value becomes a datapoint; a line (or part) CloudWatch would drop is dropped, and why is
// logged once per function and reason, so a function writing a bad line in a loop does not flood
// the platform log.
import { parseEmfLine } from './emf.ts';
import type { MetricStore } from './metric-store.ts';

/** Distinct problems logged per function; later ones are dropped silently. */
const MAX_LOGGED_PROBLEMS = 20;

export class EmfIngest {
  private readonly problems = new Map<string, Set<string>>();

  constructor(
    private readonly store: MetricStore,
    private readonly log: (line: string) => void,
  ) {}

  /** Record the metrics of `lines`, written by `source` (a function name). */
  ingest(lines: readonly string[], source: string): void {
    for (const line of lines) {
      const reading = parseEmfLine(line);
      for (const problem of reading.problems) this.problem(source, problem);
      for (const point of reading.datapoints) {
        if (!this.store.accepts(point.timestamp)) {
          this.problem(source, `metric ${point.metricName}: _aws.Timestamp is outside the retention window`);
          continue;
        }
        const series = this.store.series(point.namespace, point.metricName, point.dimensions);
        for (const value of point.values) series.add(point.timestamp, value, 1, point.unit);
      }
    }
  }

  private problem(source: string, problem: string): void {
    let seen = this.problems.get(source);
    if (!seen) {
      seen = new Set();
      this.problems.set(source, seen);
    }
    if (seen.has(problem) || seen.size >= MAX_LOGGED_PROBLEMS) return;
    seen.add(problem);
    this.log(`[cloudwatch] ${source}: an embedded-metric log line gave no metric: ${problem}`);
  }
}
