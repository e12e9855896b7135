// What the template declares and an emulator cannot run, reported at start-up by name (the parity rule).

/**
 * One line for people naming the logical id, the template property (so a caller that emulates
 * the feature elsewhere can filter on it) and what its absence means for a local run.
 */
export function emulationWarning(logicalId: string, feature: string, consequence: string): string {
  return `${logicalId}: ${feature} is not emulated locally: ${consequence}`;
}
