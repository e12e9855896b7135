// Embedded-metric log lines into the metric store, as CloudWatch Logs extracts them: every valid
// metric value becomes a datapoint; a line (or part) CloudWatch would drop is dropped, and why is
// logged once per function and reason, so a function writing a bad line in a loop does not flood
// the platform log.
import { type EmfDatapoint, parseEmfLine } from './emf.ts';
import type { MetricSeries, MetricStore } from './metric-store.ts';

/** Distinct problems logged per function; later ones are dropped silently. */
const MAX_LOGGED_PROBLEMS = 20;
/** Entries of the series memo; it starts over past this (dimension values made up per request). */
const MAX_REMEMBERED_NODES = 10_000;

/** One step of the series memo: namespace, then dimension name, value, name, value, … */
interface RememberedSeries {
  readonly next: Map<string, RememberedSeries>;
  series?: Map<string, MetricSeries>;
}

export class EmfIngest {
  private readonly problems = new Map<string, Set<string>>();
  /**
   * Series by namespace, dimension names and values as the line gives them, then by metric name:
   * a function writes the same few metrics on every request, and this finds their series with
   * a few map lookups of strings the line already holds (no sorting, no key building).
   */
  private remembered: RememberedSeries = { next: new Map() };
  private rememberedNodes = 0;

  constructor(
    private readonly store: MetricStore,
    private readonly log: (line: string) => void,
  ) {}

  /** Record the metrics of `lines`, written by `source` (a function name). */
  ingest(lines: readonly string[], source: string): void {
    for (const line of lines) {
      const reading = parseEmfLine(line);
      for (const problem of reading.problems) this.problem(source, problem);
      // The datapoints of one dimension set share its dimensions object (and one line, its time).
      let dimensions: EmfDatapoint['dimensions'] | undefined;
      let byMetric: Map<string, MetricSeries> | undefined;
      let checkedTimestamp = Number.NaN;
      for (const point of reading.datapoints) {
        if (point.timestamp !== checkedTimestamp) {
          if (!this.store.accepts(point.timestamp)) {
            this.problem(
              source,
              `metric ${point.metricName}: _aws.Timestamp is outside the retention window`,
            );
            continue;
          }
          checkedTimestamp = point.timestamp;
        }
        if (point.dimensions !== dimensions || !byMetric) {
          dimensions = point.dimensions;
          byMetric = this.metricsOf(point.namespace, dimensions);
        }
        let series = byMetric.get(point.metricName);
        if (!series) {
          series = this.store.series(point.namespace, point.metricName, point.dimensions);
          byMetric.set(point.metricName, series);
          this.rememberedNodes++;
        }
        for (const value of point.values) series.add(point.timestamp, value, 1, point.unit);
      }
    }
  }

  /** The remembered series of a namespace and dimension set, by metric name. */
  private metricsOf(namespace: string, dimensions: EmfDatapoint['dimensions']): Map<string, MetricSeries> {
    if (this.rememberedNodes >= MAX_REMEMBERED_NODES) {
      this.remembered = { next: new Map() };
      this.rememberedNodes = 0;
    }
    let node = this.step(this.remembered, namespace);
    for (const name in dimensions) node = this.step(this.step(node, name), dimensions[name] as string);
    node.series ??= new Map();
    return node.series;
  }

  private step(node: RememberedSeries, key: string): RememberedSeries {
    let next = node.next.get(key);
    if (!next) {
      next = { next: new Map() };
      node.next.set(key, next);
      this.rememberedNodes++;
    }
    return next;
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
