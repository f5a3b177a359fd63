/** Messages between the fan-out scenario and its client processes. */
export type ToClients =
  | { type: 'connect'; url: string; subs: Array<{ orderId: string; token: string }>; concurrency: number }
  | { type: 'collect' }
  /** Collect the process's garbage now (it runs with --expose-gc) and re-read the wall clock (see `calibrateWallMs`), before a measured step. */
  | { type: 'settle' }
  | { type: 'close' };

export type FromClients =
  | { type: 'up' }
  /** Every subscription has answered: `initial` got the order's current state, `failed` did not. */
  | { type: 'connected'; initial: number; failed: number; firstError?: string; ms: number }
  /**
   * Per changed order: its id, when its change arrived (monotonic ms and wall-clock ms), and the wall
   * clock of its transaction's start (`cancelledAt`, PostgreSQL's now()).
   */
  | { type: 'received'; changes: Array<[string, number, number, number]>; failed: number; firstError?: string; duplicates: number }
  /** The garbage is collected. */
  | { type: 'settled' };
