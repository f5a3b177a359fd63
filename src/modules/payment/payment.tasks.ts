import type { EntityManager } from '@mikro-orm/postgresql';
import type { JobHelpers, Task, TaskList } from '../../infra/jobs';
import { EXPIRE_CHECKOUT_TASK } from './checkout-expiry';
import type { GatewayCheckoutService } from './checkout.service';
import { RETRY_GATEWAY_EVENT_TASK, type GatewayEventService } from './gateway-events.service';
import type { PaymentLog } from './payment.log';
import { SEND_REFUND_TASK, type RefundJob, type RefundService } from './refund.service';

/** graphile-worker's job logger as a {@link PaymentLog} (its errors reach the process log). */
function jobLog(helpers: JobHelpers): PaymentLog {
  const line = (msg: string, obj: object) => `${msg} ${JSON.stringify(obj, (_k, v: unknown) => (v instanceof Error ? v.message : v))}`;
  return {
    info: (obj, msg) => helpers.logger.info(line(msg, obj)),
    warn: (obj, msg) => helpers.logger.warn(line(msg, obj)),
    error: (obj, msg) => helpers.logger.error(line(msg, obj)),
  };
}

/**
 * The payment module's background jobs, each of which calls the gateway outside any transaction:
 * sending recorded refunds, expiring Checkout Sessions of orders that stopped waiting for them, and
 * retrying webhook events whose processing failed.
 */
export function paymentTasks(deps: { em: () => EntityManager; checkout: GatewayCheckoutService; events: GatewayEventService; refunds: RefundService }): TaskList {
  const sendRefund: Task = async (payload, helpers) => {
    const job = payload as RefundJob;
    const log = jobLog(helpers);
    try {
      await deps.refunds.send(deps.em(), job, log);
    } catch (e) {
      const fields = { ...job, attempt: helpers.job.attempts, err: e };
      if (helpers.job.attempts >= helpers.job.max_attempts) log.error(fields, 'refund still not confirmed by the gateway after its last try: an admin must act');
      else log.warn(fields, 'refund not confirmed yet: retrying later');
      throw e;
    }
  };

  const expireCheckout: Task = async (payload, helpers) => {
    const { sessionId } = payload as { sessionId: string };
    try {
      await deps.checkout.expireSession(deps.em(), sessionId);
    } catch (e) {
      jobLog(helpers).warn({ sessionId, attempt: helpers.job.attempts, err: e }, 'checkout session not expired yet: retrying later');
      throw e;
    }
  };

  const retryEvent: Task = async (payload, helpers) => {
    const { eventId } = payload as { eventId: string };
    await deps.events.retry(deps.em(), eventId, jobLog(helpers));
  };

  return { [SEND_REFUND_TASK]: sendRefund, [EXPIRE_CHECKOUT_TASK]: expireCheckout, [RETRY_GATEWAY_EVENT_TASK]: retryEvent };
}
