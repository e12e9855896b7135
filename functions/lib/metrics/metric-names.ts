// The platform's own CloudWatch metrics: namespace, names and dimensions in one home, so the
// functions that emit them, the alarms and dashboard in `infra/`, and the local alarm evaluation
// cannot drift apart. AWS's service metrics (AWS/Lambda, AWS/ApiGateway, AWS/States) are not here.

export const METRICS_NAMESPACE = 'MLOps';

/** Dimension names. */
export const DIMENSION = {
  model: 'Model',
  /** Lambda version of the predict function: tells champion from challenger during a release. */
  functionVersion: 'FunctionVersion',
  feature: 'Feature',
} as const;

/** Emitted by the predict function, per request, with dimension sets [Model] and [Model, FunctionVersion]. */
export const PREDICTION_METRICS = {
  /** Instances scored (Count). */
  predictions: 'Predictions',
  /** Latency of the request inside the function (Milliseconds). */
  latency: 'PredictionLatency',
  /** Requests answered with a 5xx (Count; 0 on success, so the rate is its average). */
  serverErrors: 'PredictionServerErrors',
  /** Mean score of the request's instances (None): the score distribution, per version. */
  meanScore: 'PredictionMeanScore',
  /** Capture records that could not be written (Count). The prediction was still answered. */
  captureErrors: 'CaptureErrors',
} as const;

/**
 * Shadow releases (functions/lib/releases/shadow-copy.ts), with dimension sets [Model] and
 * [Model, FunctionVersion]. Kept apart from PREDICTION_METRICS so shadow traffic never moves
 * the served path's metrics or alarms.
 */
export const SHADOW_METRICS = {
  /** Copies of live requests handed to the shadow alias by the champion (Count). */
  copiesSent: 'ShadowCopiesSent',
  /** Instances the challenger scored from copies (Count). */
  predictions: 'ShadowPredictions',
  /** Latency of the challenger scoring a copy, inside the function (Milliseconds). */
  latency: 'ShadowPredictionLatency',
  /**
   * Copies that could not be sent, or that the challenger failed to score (Count). Never an
   * error of the served path: the client's answer is the champion's either way.
   */
  errors: 'ShadowErrors',
} as const;

/** Emitted by the drift check per window. */
export const DRIFT_METRICS = {
  /** PSI of one field against its training profile ([Model, Feature]). */
  featurePsi: 'FeaturePSI',
  /** KS statistic D of one numeric field ([Model, Feature]). */
  featureKs: 'FeatureKS',
  /** Absolute change of one field's null rate ([Model, Feature]). */
  featureNullRateChange: 'FeatureNullRateChange',
  /** PSI of the prediction (score) distribution ([Model]). */
  predictionPsi: 'PredictionPSI',
  /** Fields judged significant in the window ([Model]). */
  driftedFeatures: 'DriftedFeatures',
  /** Captured rows in the window ([Model]). */
  windowRows: 'DriftWindowRows',
  /** 1 when the window could not be judged (too few rows), else 0 ([Model]). */
  insufficientData: 'DriftInsufficientData',
  /**
   * 1 while the drift alert is raised (K significant windows in a row), else 0; emitted with [Model]
   * and with no dimension, so one alarm covers every model.
   */
  driftAlarm: 'DriftAlarm',
} as const;
