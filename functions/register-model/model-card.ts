// Renders the model card (card.md) that sits beside every artifact: what a reviewer reads first.

/** Metrics of one scored split, as metrics.json stores them. */
interface SplitMetrics {
  readonly rows?: number;
  readonly auc?: number | null;
  readonly logLoss?: number | null;
  readonly accuracy?: number | null;
  readonly precision?: number | null;
  readonly recall?: number | null;
  readonly positiveRate?: number | null;
  readonly expectedCalibrationError?: number | null;
  readonly calibration?: ReadonlyArray<{
    lower: number;
    upper: number;
    rows: number;
    meanScore: number | null;
    observedRate: number | null;
  }>;
}

export interface ModelCardInput {
  readonly model: string;
  readonly version: number;
  readonly featureSet: string;
  readonly featureNames: readonly string[];
  readonly trainingRunId: string;
  readonly datasetUri: string;
  readonly datasetSha256: string;
  readonly artifactSha256: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly metrics: {
    readonly test?: SplitMetrics;
    readonly train?: SplitMetrics | null;
    readonly subgroups?: {
      readonly column: string;
      readonly groups: ReadonlyArray<{
        value: string;
        rows: number;
        positives: number;
        metrics: SplitMetrics;
      }>;
    } | null;
    readonly gates?: {
      readonly passed: boolean;
      readonly checks: ReadonlyArray<{ message: string; passed: boolean }>;
    };
  };
  readonly createdBy: string;
  readonly gitCommit?: string;
}

const fmt = (value: unknown) =>
  value === null || value === undefined
    ? 'n/a'
    : typeof value === 'number'
      ? Number.isInteger(value)
        ? String(value)
        : value.toFixed(4)
      : JSON.stringify(value);

const METRICS = ['rows', 'auc', 'logLoss', 'accuracy', 'precision', 'recall', 'positiveRate'] as const;

/** Markdown model card; deterministic for the same input (no timestamps), so rewrites are identical. */
export function renderModelCard(card: ModelCardInput): string {
  const { test, train, subgroups, gates } = card.metrics;
  const splits = [
    ['test (held out)', test],
    ['train', train],
  ] as const;
  return [
    `# Model card: ${card.model} v${card.version}`,
    '',
    '## Intended use',
    'Scores the probability that a scheduled US domestic flight departs more than 15 minutes late, from its',
    'departure time, distance and airports. For prioritising attention (e.g. rebooking outreach), not for',
    'decisions about individual people.',
    '',
    '## Data',
    `- dataset: \`${card.datasetUri}\``,
    `- sha256: \`${card.datasetSha256}\``,
    `- feature set: \`${card.featureSet}\` (${card.featureNames.length} model inputs)`,
    '',
    '## Training',
    `- run: \`${card.trainingRunId}\`, requested by ${card.createdBy}`,
    ...(card.gitCommit ? [`- code: commit \`${card.gitCommit}\``] : []),
    `- artifact sha256: \`${card.artifactSha256}\``,
    `- params: \`${JSON.stringify(card.params)}\``,
    '',
    '## Metrics',
    `| split | ${METRICS.join(' | ')} |`,
    `| --- |${METRICS.map(() => ' --- |').join('')}`,
    ...splits
      .filter(([, m]) => m)
      .map(([name, m]) => `| ${name} | ${METRICS.map((k) => fmt(m?.[k])).join(' | ')} |`),
    '',
    ...(test?.calibration
      ? [
          `### Calibration (expected calibration error ${fmt(test.expectedCalibrationError)})`,
          '| score bin | rows | mean score | observed rate |',
          '| --- | --- | --- | --- |',
          ...test.calibration.map(
            (b) =>
              `| ${b.lower.toFixed(1)}-${b.upper.toFixed(1)} | ${b.rows} | ${fmt(b.meanScore)} | ${fmt(b.observedRate)} |`,
          ),
          '',
        ]
      : []),
    ...(subgroups
      ? [
          `### By subgroup (${subgroups.column})`,
          '| subgroup | rows | positives | auc | logLoss | accuracy | recall |',
          '| --- | --- | --- | --- | --- | --- | --- |',
          ...subgroups.groups.map(
            (g) =>
              `| ${g.value} | ${g.rows} | ${g.positives} | ${fmt(g.metrics.auc)} | ${fmt(g.metrics.logLoss)} | ${fmt(g.metrics.accuracy)} | ${fmt(g.metrics.recall)} |`,
          ),
          '',
        ]
      : []),
    ...(gates
      ? [
          `## Registration gates: ${gates.passed ? 'passed' : 'FAILED'}`,
          ...gates.checks.map((c) => `- ${c.passed ? 'pass' : 'FAIL'}: ${c.message}`),
          '',
        ]
      : []),
    '## Limitations',
    '- Trained on three months of 2001 flights: seasonality outside January-March is not represented.',
    '- Airports rare in training share one "other" bucket; their scores are less specific.',
    '- Weather, carrier and congestion are not inputs: the model sees schedule and route only.',
    '',
  ].join('\n');
}
