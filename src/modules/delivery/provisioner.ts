/** What an automatic delivery asks the provisioning system to set up. */
export interface ProvisionRequest {
  orderId: string;
  customerId: string;
  planId: string;
  durationDays: number | null;
}

/**
 * The external step of an automatic delivery, run before the completion transaction. Throwing fails
 * the attempt (it is retried with backoff). It may run more than once for one order (a worker that
 * dies after it and before the commit runs the attempt again), so implementations must be idempotent
 * per `orderId`.
 */
export interface Provisioner {
  provision(req: ProvisionRequest): Promise<void>;
}

/**
 * `DELIVERY_WEBHOOK_URL`: POSTs the request as JSON with an `Idempotency-Key: <orderId>` header and
 * succeeds only on a 2xx answer within 10 seconds. Any other answer or a network error fails the attempt.
 */
export class WebhookProvisioner implements Provisioner {
  constructor(private readonly url: string) {}

  async provision(req: ProvisionRequest): Promise<void> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': req.orderId },
      body: JSON.stringify(req),
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new Error(`provisioning answered ${res.status} for order ${req.orderId}`);
  }
}
