import { StateMachine } from '../../shared/fsm';
import { OrderStatus } from './order.entity';

/** The order lifecycle (CONTRACT.md, Lifecycle). CANCELLED, REFUNDED and DELIVERED are final. */
export const orderLifecycle = new StateMachine<OrderStatus>('order', {
  [OrderStatus.PENDING]: [OrderStatus.PAID, OrderStatus.CANCELLED],
  [OrderStatus.PAID]: [OrderStatus.DELIVERED, OrderStatus.REFUNDED],
  [OrderStatus.DELIVERED]: [],
  [OrderStatus.CANCELLED]: [],
  [OrderStatus.REFUNDED]: [],
});
