/** Where a graceful stop reports: what it is doing (`info`) and what went wrong (`error`). */
export type StopLog = (level: 'info' | 'error', message: string, fields?: Record<string, unknown>) => void;

/** How a process stops; every field but `timeoutMs` and `log` has the value a real process needs. */
export interface GracefulStopOptions {
  /** Longest the whole stop may take; past it the process exits 1 without waiting any more. */
  timeoutMs: number;
  log: StopLog;
  /** Signals that ask for the stop (default SIGTERM and SIGINT). */
  signals?: NodeJS.Signals[];
  /** Listens for a signal (default `process.on`); tests pass an emitter of their own. */
  onSignal?: (signal: NodeJS.Signals, listener: () => void) => void;
  /** Ends the process (default `process.exit`). */
  exit?: (code: number) => void;
}

/** The stop of one process: what it started, stopped in reverse order, once. */
export interface GracefulStop {
  /**
   * Registers something just started, with how to stop it. The stop runs these in the reverse order of
   * registration, so each part stops before whatever it was built on (the server before its database).
   */
  add(name: string, stop: () => Promise<void> | void): void;
  /**
   * Startup is over: a signal received while starting is carried out now. Until then a signal is only
   * noted, so a half-started process is never torn down under the code still starting it.
   */
  ready(): void;
  /**
   * Stops everything registered and exits: with `code` (0 unless given) when every part stopped, 1 when
   * one failed (the others are still stopped) or the stop outlasted `timeoutMs`. Called again while
   * stopping, it does nothing more.
   */
  stop(reason: string, code?: number): Promise<void>;
}

/**
 * The one way the API (`src/main.ts`) and the worker (`src/worker.ts`) stop: installed before anything
 * starts, it listens for SIGTERM and SIGINT, lets each part finish what it is doing (requests, jobs),
 * stops the parts in reverse order of starting, bounds the whole by a timeout and ends the process
 * with an exit code that says whether the stop was clean.
 */
export function gracefulStop(opts: GracefulStopOptions): GracefulStop {
  const parts: Array<{ name: string; stop: () => Promise<void> | void }> = [];
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const onSignal = opts.onSignal ?? ((signal, listener) => void process.on(signal, listener));
  let started = false;
  let requested: string | undefined;
  let stopping: Promise<void> | undefined;

  const stop = (reason: string, code = 0): Promise<void> =>
    (stopping ??= (async () => {
      opts.log('info', 'stopping', { reason });
      let current: string | undefined;
      const timer = setTimeout(() => {
        opts.log('error', 'graceful stop timed out', { timeoutMs: opts.timeoutMs, waitingFor: current });
        exit(1);
      }, opts.timeoutMs);
      // Not unref'd: a part whose stop waits on nothing alive must not let the process end as if clean.
      let failed = false;
      // Every part gets its stop even when one before it failed: a database left running outlives the process.
      for (const part of [...parts].reverse()) {
        current = part.name;
        try {
          await part.stop();
        } catch (e) {
          failed = true;
          opts.log('error', 'error while stopping', { part: part.name, err: e });
        }
      }
      clearTimeout(timer);
      exit(failed ? 1 : code);
    })());

  for (const signal of opts.signals ?? ['SIGTERM', 'SIGINT']) {
    onSignal(signal, () => {
      if (started) void stop(signal);
      else requested ??= signal;
    });
  }

  return {
    add: (name, stopPart) => void parts.push({ name, stop: stopPart }),
    ready: () => {
      started = true;
      if (requested) void stop(requested);
    },
    stop,
  };
}
