import { StateMachine } from '../../shared/fsm';
import { DeliveryStatus } from './delivery.entity';

/**
 * The delivery lifecycle. Automatic deliveries go NEW → IN_PROGRESS → COMPLETED (or FAILED after the
 * last try; an admin may retry FAILED → NEW); a provider's go through REVIEWING. CANCELLED (by an
 * admin, refunding the order) and COMPLETED are final.
 */
export const deliveryLifecycle = new StateMachine<DeliveryStatus>('delivery', {
  [DeliveryStatus.NEW]: [DeliveryStatus.IN_PROGRESS, DeliveryStatus.CANCELLED, DeliveryStatus.FAILED],
  [DeliveryStatus.IN_PROGRESS]: [DeliveryStatus.REVIEWING, DeliveryStatus.COMPLETED, DeliveryStatus.FAILED, DeliveryStatus.CANCELLED],
  [DeliveryStatus.REVIEWING]: [DeliveryStatus.COMPLETED, DeliveryStatus.IN_PROGRESS, DeliveryStatus.CANCELLED],
  [DeliveryStatus.FAILED]: [DeliveryStatus.NEW, DeliveryStatus.CANCELLED],
  [DeliveryStatus.COMPLETED]: [],
  [DeliveryStatus.CANCELLED]: [],
});
