import type { Static, TObject } from 'typebox';

/**
 * The task layer: every user-level job (predict, attack, evaluate, compare, train, patch; explain and defend
 * later) is a spec described by a TypeBox schema (plain JSON: a model reference, a data reference, options)
 * and a run function that returns a versioned, JSON-serializable result plus named artifacts. Surfaces (the
 * CLI, the HTTP server, a queue worker, the playground) map their input to a spec and render the output;
 * they hold no protocol of their own.
 */
export interface Task<
  S extends TObject,
  R extends TaskResult,
  P = never,
  C extends TaskContext<P> = TaskContext<P>,
> {
  /** 'evaluate': the CLI command, the HTTP route segment and the job type. */
  readonly name: string;
  /** One line for listings and the OpenAPI summary. */
  readonly title: string;
  /** The spec's schema: types, CLI flags, HTTP validation, OpenAPI and forms all come from it. */
  readonly schema: S;
  /** Checks the spec (defaults fill in what is missing), then does the work. */
  run(spec: TaskInput<S>, ctx?: C): Promise<TaskOutput<R>>;
}

/** What a caller passes: any part of the spec; the task checks it and fills in the defaults. */
export type TaskInput<S extends TObject> = Partial<Static<S>>;

export interface TaskContext<P = never> {
  /** Cancels the work; the task throws an AdvkitError with code ABORTED. */
  signal?: AbortSignal;
  onProgress?: (event: P) => void;
  /** Notes that do not change the result (a resumed run, a clamped count); surfaces show them. */
  onNote?: (note: string) => void;
  /** Where a long task keeps its resumable state (the evaluate task's progress); none: no resume. */
  stateDir?: string;
}

/** Every result carries its task and schema version, so stored results can be read back safely. */
export interface TaskResult {
  task: string;
  schemaVersion: number;
}

/** A named output file: 'report.html', 'gallery.png', 'model.json'. */
export interface Artifact {
  name: string;
  mediaType: string;
  bytes: Uint8Array;
}

export interface TaskOutput<R extends TaskResult> {
  result: R;
  artifacts: Artifact[];
}

export function jsonArtifact(name: string, value: unknown): Artifact {
  return {
    name,
    mediaType: 'application/json',
    bytes: new TextEncoder().encode(JSON.stringify(value, null, 2) + '\n'),
  };
}
