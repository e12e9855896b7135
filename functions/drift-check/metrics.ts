// The CloudWatch metrics of one model's drift window, as EMF entries. Timestamped at the window's
// end, so checking a window again lands on the same datapoint instead of adding one.
import type { DriftReport } from '../lib/drift/drift-report.ts';
import type { WindowAlert } from '../lib/drift/window-report.ts';
import type { EmfEntry, MetricValue } from '../lib/metrics/emf.ts';
import { DIMENSION, DRIFT_METRICS, METRICS_NAMESPACE } from '../lib/metrics/metric-names.ts';

export interface WindowMetricsInput {
  readonly model: string;
  readonly version: number;
  readonly windowEnd: Date;
  readonly drift: DriftReport;
  /** Null when the window's alert decision is unknown (a late re-run of an old window): no DriftAlarm point. */
  readonly alert: WindowAlert | null;
}

const metric = (name: string, value: number | null, unit: MetricValue['unit'] = 'None'): MetricValue[] =>
  value === null ? [] : [{ name, value, unit }];

/**
 * EMF entries for one window:
 * - per field ([Model, Feature]): FeatureNullRateChange (absolute) whenever the window has enough
 *   rows; FeaturePSI and FeatureKS only when the field had enough values to be judged, so a thin
 *   field's noisy PSI never reaches an alarm;
 * - per model ([Model]): DriftWindowRows and DriftInsufficientData always; PredictionPSI and
 *   DriftedFeatures when the window could be judged;
 * - DriftAlarm ([Model] and []): 1 while the alert is raised.
 */
export function windowMetrics(input: WindowMetricsInput): EmfEntry[] {
  const { drift, model } = input;
  const timestamp = input.windowEnd;
  const properties = { window: input.windowEnd.toISOString(), version: input.version, status: drift.status };
  const enoughRows = drift.rows >= drift.minRows;
  const entries: EmfEntry[] = [];
  if (enoughRows) {
    for (const [feature, field] of Object.entries(drift.fields)) {
      const judged = field.values >= field.valuesNeeded;
      const change = field.nullRate.change;
      const metrics = [
        ...metric(DRIFT_METRICS.featurePsi, judged ? field.psi : null),
        ...metric(DRIFT_METRICS.featureKs, judged && field.kind === 'numeric' ? field.ks : null),
        ...metric(DRIFT_METRICS.featureNullRateChange, change === null ? null : Math.abs(change)),
      ];
      if (metrics.length > 0)
        entries.push({
          namespace: METRICS_NAMESPACE,
          dimensions: { [DIMENSION.model]: model, [DIMENSION.feature]: feature },
          metrics,
          timestamp,
          properties: { ...properties, fieldStatus: field.status },
        });
    }
  }
  const prediction = drift.prediction;
  const predictionJudged = enoughRows && prediction !== null && prediction.values >= prediction.valuesNeeded;
  entries.push({
    namespace: METRICS_NAMESPACE,
    dimensions: { [DIMENSION.model]: model },
    metrics: [
      ...metric(DRIFT_METRICS.windowRows, drift.rows, 'Count'),
      ...metric(DRIFT_METRICS.insufficientData, drift.status === 'insufficient-data' ? 1 : 0),
      ...metric(DRIFT_METRICS.predictionPsi, predictionJudged ? prediction.psi : null),
      ...metric(
        DRIFT_METRICS.driftedFeatures,
        enoughRows ? Object.values(drift.fields).filter((f) => f.status === 'significant').length : null,
        'Count',
      ),
    ],
    timestamp,
    properties,
  });
  if (input.alert) {
    entries.push({
      namespace: METRICS_NAMESPACE,
      dimensions: { [DIMENSION.model]: model },
      // [] as well: one alarm on the dimensionless series covers every model.
      dimensionSets: [[DIMENSION.model], []],
      metrics: metric(DRIFT_METRICS.driftAlarm, input.alert.alarm ? 1 : 0),
      timestamp,
      properties: { ...properties, alertState: input.alert.state },
    });
  }
  return entries;
}
