// The training data gate: checks a dataset against its expectation set and reports every violation.
import { PlatformError } from '../errors.ts';
import {
  checkCategories,
  checkLabelBalance,
  checkMinRows,
  checkNullRates,
  checkRange,
  checkSchema,
  checkUniqueKey,
  formatCount,
} from './dataset-checks.ts';
import type { ExpectationSet, ValidationReport, Violation } from './expectations.ts';

/** Step Functions caps an error cause at 32,768 characters; stay far below it. */
const MAX_SUMMARY_CHARS = 4_000;

/** The dataset broke its expectations; the message is `summarizeViolations(report)`. */
export class DataValidationFailed extends PlatformError {
  override readonly name = 'DataValidationFailed';
  readonly status = 422;
  /** @param reportUri where the full report was written, named at the end of the message */
  constructor(
    readonly report: ValidationReport,
    reportUri?: string,
  ) {
    super(`${summarizeViolations(report)}${reportUri ? `\nfull report: ${reportUri}` : ''}`, {
      violations: report.violations,
    });
  }
}

/**
 * Checks `rows` against `expectations` and lists every broken expectation, never stopping at the
 * first, so one failed pipeline run shows everything that is wrong with its data.
 */
export function validateDataset<Row>(
  rows: readonly unknown[],
  expectations: ExpectationSet<Row>,
): ValidationReport {
  const nullable = new Set(Object.keys(expectations.maxNullRate ?? {}));
  const { valid, violations: schemaViolations } = checkSchema(rows, expectations, nullable);
  const violations: Violation[] = [
    ...checkMinRows(rows.length, expectations.minRows),
    ...checkNullRates(rows, expectations.maxNullRate ?? {}),
    ...schemaViolations,
    ...(expectations.ranges ?? []).flatMap((range) => checkRange(valid, range)),
    ...(expectations.categories ?? []).flatMap((categories) => checkCategories(valid, categories)),
    ...(expectations.labelBalance ? checkLabelBalance(valid, expectations.labelBalance) : []),
    ...(expectations.uniqueKey ? checkUniqueKey(valid, expectations.uniqueKey) : []),
  ];
  return {
    dataset: expectations.dataset,
    passed: violations.length === 0,
    rows: rows.length,
    validRows: valid.length,
    violations,
  };
}

/** Throws `DataValidationFailed` unless the report passed. */
export function assertDatasetValid(report: ValidationReport): void {
  if (!report.passed) throw new DataValidationFailed(report);
}

/**
 * A few lines for people, e.g. as a Step Functions error cause: one line per violation with its
 * count and up to three examples, cut short (saying so) if it grows too long.
 */
export function summarizeViolations(report: ValidationReport): string {
  const rows = formatCount(report.rows);
  if (report.passed) return `${report.dataset}: all expectations passed on ${rows} rows`;
  const n = report.violations.length;
  const lines = [`${report.dataset}: ${n} expectation${n === 1 ? '' : 's'} failed on ${rows} rows`];
  let length = lines[0]?.length ?? 0;
  for (const [i, violation] of report.violations.entries()) {
    const line = `- ${describeViolation(violation)}`;
    if (length + line.length + 1 > MAX_SUMMARY_CHARS) {
      lines.push(`… and ${n - i} more`);
      break;
    }
    lines.push(line);
    length += line.length + 1;
  }
  return lines.join('\n');
}

function describeViolation({ expectation, column, message, examples }: Violation): string {
  const where = column === undefined ? expectation : `${expectation} (${column})`;
  const shown = examples
    .slice(0, 3)
    .map((example) => truncate(JSON.stringify(example) ?? String(example), 80))
    .join(', ');
  return `${where}: ${message}${shown ? `; e.g. ${shown}` : ''}`;
}

const truncate = (text: string, length: number) =>
  text.length <= length ? text : `${text.slice(0, length - 1)}…`;
