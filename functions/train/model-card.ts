// Renders the model card (card.md) that sits beside every artifact: what a reviewer reads first.

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
  readonly metrics: Readonly<Record<string, unknown>>;
  readonly createdBy: string;
}

const fmt = (value: unknown) =>
  typeof value === 'number'
    ? Number.isInteger(value)
      ? String(value)
      : value.toFixed(4)
    : JSON.stringify(value);

/** Markdown model card; deterministic for the same input (no timestamps), so rewrites are identical. */
export function renderModelCard(card: ModelCardInput): string {
  const metricRows = (split: string) => {
    const m = card.metrics[split];
    if (typeof m !== 'object' || m === null) return [];
    return Object.entries(m).map(([k, v]) => `| ${split} | ${k} | ${fmt(v)} |`);
  };
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
    `- run: \`${card.trainingRunId}\`, by ${card.createdBy}`,
    `- artifact sha256: \`${card.artifactSha256}\``,
    `- params: \`${JSON.stringify(card.params)}\``,
    '',
    '## Metrics',
    '| split | metric | value |',
    '| --- | --- | --- |',
    ...metricRows('train'),
    ...metricRows('test'),
    '',
    '## Limitations',
    '- Trained on three months of 2001 flights: seasonality outside January-March is not represented.',
    '- Airports rare in training share one "other" bucket; their scores are less specific.',
    '- Weather, carrier and congestion are not inputs: the model sees schedule and route only.',
    '',
  ].join('\n');
}
