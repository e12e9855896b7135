// Walks an ASL definition (JSONPath ASL, as this project writes it): the Task and retrying
// states at any depth (Parallel branches, Map processors), and the timeouts the library needs.

/** The part of an ASL state the local runtime reads. */
export interface AslState {
  readonly Type: string;
  readonly Resource?: string;
  readonly Parameters?: unknown;
  readonly Retry?: readonly unknown[];
  readonly TimeoutSeconds?: number;
  readonly TimeoutSecondsPath?: string;
  readonly Branches?: readonly AslMachine[];
  readonly ItemProcessor?: AslMachine;
  readonly Iterator?: AslMachine;
}

/** A state machine definition, or a Parallel branch / Map processor inside one. */
export interface AslMachine {
  readonly StartAt: string;
  readonly States: Readonly<Record<string, AslState>>;
  readonly TimeoutSeconds?: number;
}

/** Every state at any depth, with its name (unique in the whole definition, as AWS requires). */
export function allStates(machine: AslMachine): Array<[string, AslState]> {
  const found: Array<[string, AslState]> = [];
  for (const [name, state] of Object.entries(machine.States ?? {})) {
    found.push([name, state]);
    for (const branch of state.Branches ?? []) found.push(...allStates(branch));
    const processor = state.ItemProcessor ?? state.Iterator;
    if (processor) found.push(...allStates(processor));
  }
  return found;
}

/**
 * Longest timeout the library can arm: it uses setTimeout, which fires at once for more than
 * 2^31-1 ms (so AWS's 99999999 s would time out immediately).
 */
export const LONGEST_LOCAL_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/**
 * A copy of `machine` with the timeouts AWS means: Task states without one get no timeout
 * (the library's default is 60 s; AWS has none), and values beyond what setTimeout can hold
 * are capped (they mean "days" either way).
 */
export function withLocalTimeouts(machine: AslMachine): AslMachine {
  const cap = (seconds: number | undefined) =>
    seconds === undefined ? undefined : Math.min(seconds, LONGEST_LOCAL_TIMEOUT_SECONDS);
  const patchMachine = (m: AslMachine): AslMachine => ({
    ...m,
    ...(m.TimeoutSeconds !== undefined ? { TimeoutSeconds: cap(m.TimeoutSeconds) } : {}),
    States: Object.fromEntries(Object.entries(m.States ?? {}).map(([name, s]) => [name, patchState(s)])),
  });
  const patchState = (s: AslState): AslState => {
    const patched: AslState = {
      ...s,
      ...(s.Branches ? { Branches: s.Branches.map(patchMachine) } : {}),
      ...(s.ItemProcessor ? { ItemProcessor: patchMachine(s.ItemProcessor) } : {}),
      ...(s.Iterator ? { Iterator: patchMachine(s.Iterator) } : {}),
    };
    if (s.Type !== 'Task') return patched;
    if (s.TimeoutSecondsPath !== undefined) return patched;
    return { ...patched, TimeoutSeconds: cap(s.TimeoutSeconds) ?? LONGEST_LOCAL_TIMEOUT_SECONDS };
  };
  return patchMachine(machine);
}
