// How a published version of the predict function is tied to model versions: its
// MODEL_VERSION_PINS variable, `{"model": version}` JSON, which functions/predict/handler.ts reads
// (a model without a pin follows the registry's Production version). The one place releases and
// shadows read a version's pins and derive the environment of a version pinned to a model.
import * as z from 'zod';
import { ReleaseRefused } from './release-errors.ts';

/** The predict function's variable that pins model versions. */
export const MODEL_VERSION_PINS_ENV = 'MODEL_VERSION_PINS';

const Pins = z.record(z.string(), z.number().int().positive());

/**
 * The pins a configuration carries (absent or empty: none). `whose` names the version in the
 * ReleaseRefused a malformed value gives.
 */
export function readPins(
  environment: Readonly<Record<string, string>> | undefined,
  whose: string,
): Record<string, number> {
  const text = environment?.[MODEL_VERSION_PINS_ENV];
  if (text === undefined || text.trim() === '') return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ReleaseRefused(`${whose}: ${MODEL_VERSION_PINS_ENV} is not valid JSON: ${text}`);
  }
  const parsed = Pins.safeParse(json);
  if (!parsed.success)
    throw new ReleaseRefused(`${whose}: ${MODEL_VERSION_PINS_ENV} is not {"model": version}: ${text}`);
  return parsed.data;
}

/** Pins in model-name order: the same pins always make the same variable (and version). */
export const sortedPins = (pins: Readonly<Record<string, number>>): Record<string, number> =>
  Object.fromEntries(Object.entries(pins).sort(([a], [b]) => a.localeCompare(b)));

/**
 * `environment` with `model` pinned to `version` (other models' pins kept): what a version that
 * serves that model version runs with. `whose` names `environment`'s version in errors.
 */
export function pinModel(
  environment: Readonly<Record<string, string>>,
  model: string,
  version: number,
  whose: string,
): { readonly environment: Record<string, string>; readonly pins: Record<string, number> } {
  const pins = sortedPins({ ...readPins(environment, whose), [model]: version });
  return { environment: { ...environment, [MODEL_VERSION_PINS_ENV]: JSON.stringify(pins) }, pins };
}
