import type { Config } from '../../config';
import type { Task, TaskList } from '../../infra/jobs';
import type { Mailer } from '../../infra/mail';
import type { Orm } from '../../infra/orm';
import { DELIVER_ORDER_TASK, type DeliveryService } from './delivery.service';
import { composeOrderMail, SEND_MAIL_TASK, type MailJobPayload } from './order-mail';

/** The delivery module's background jobs: automatic delivery and order mails. */
export function deliveryTasks(deps: { orm: Orm; config: Config; deliveries: DeliveryService; mailer: Mailer }): TaskList {
  const deliverOrder: Task = async (payload, helpers) => {
    const { orderId } = payload as { orderId: string };
    const attempt = { number: helpers.job.attempts, max: helpers.job.max_attempts };
    // The job's last run is one past the delivery's attempts (see deliveryJobAttempts): the log counts attempts.
    const tries = deps.config.deliveryMaxAttempts;
    try {
      const outcome = await deps.deliveries.runAutomatic(deps.orm.em.fork(), orderId, attempt);
      if (outcome === 'failed') helpers.logger.error(`automatic delivery of order ${orderId} failed for good after ${Math.min(attempt.number, tries)} attempts`);
      if (outcome === 'provisioned-for-ended-order') {
        helpers.logger.error(`order ${orderId} was refunded or cancelled while it was being provisioned: undo it at the provisioning system`);
      }
    } catch (e) {
      helpers.logger.warn(`automatic delivery of order ${orderId}, attempt ${attempt.number}/${tries} failed: ${(e as Error).message}`);
      throw e;
    }
  };

  const sendMail: Task = async (payload) => {
    const mail = await composeOrderMail(deps.orm.em.fork(), deps.config, payload as MailJobPayload);
    if (mail) await deps.mailer.send(mail);
  };

  return { [DELIVER_ORDER_TASK]: deliverOrder, [SEND_MAIL_TASK]: sendMail };
}
