/** Messages between the fan-out scenario and its client processes. */
export type ToClients =
  | { type: 'connect'; url: string; subs: Array<{ orderId: string; token: string }>; concurrency: number }
  | { type: 'collect' }
  | { type: 'close' };

export type FromClients =
  | { type: 'up' }
  /** Every subscription has answered: `initial` got the order's current state, `failed` did not. */
  | { type: 'connected'; initial: number; failed: number; firstError?: string; ms: number }
  /** When each changed order's change arrived (monotonic ms), by order id. */
  | { type: 'received'; changes: Array<[string, number]>; failed: number; firstError?: string; duplicates: number };
