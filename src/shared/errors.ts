import { GraphQLError } from 'graphql';

/** Every error code a resolver may answer with (CONTRACT.md, Errors). */
export enum ErrorCode {
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  NOT_FOUND = 'NOT_FOUND',
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  PLAN_NOT_AVAILABLE = 'PLAN_NOT_AVAILABLE',
  OUT_OF_STOCK = 'OUT_OF_STOCK',
  COUPON_INVALID = 'COUPON_INVALID',
  UNPAID_ORDER_LIMIT = 'UNPAID_ORDER_LIMIT',
  ORDER_NOT_PAYABLE = 'ORDER_NOT_PAYABLE',
  ORDER_NOT_CANCELLABLE = 'ORDER_NOT_CANCELLABLE',
  ORDER_NOT_REFUNDABLE = 'ORDER_NOT_REFUNDABLE',
  INSUFFICIENT_BALANCE = 'INSUFFICIENT_BALANCE',
  PAYMENT_GATEWAY_UNAVAILABLE = 'PAYMENT_GATEWAY_UNAVAILABLE',
  INVALID_STATUS_TRANSITION = 'INVALID_STATUS_TRANSITION',
  RATE_LIMITED = 'RATE_LIMITED',
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
}

/** Base of the errors a client is meant to see: message and `extensions` are safe to show. */
export abstract class AppError extends GraphQLError {
  abstract readonly code: ErrorCode;
  constructor(message: string, code: ErrorCode, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { ...extensions, code } });
  }
}

const define = (code: ErrorCode, defaultMessage: string) =>
  class extends AppError {
    readonly code = code;
    constructor(message: string = defaultMessage, extensions: Record<string, unknown> = {}) {
      super(message, code, extensions);
    }
  };

export class UnauthenticatedError extends define(ErrorCode.UNAUTHENTICATED, 'Authentication required: send a valid bearer token') {}
export class ForbiddenError extends define(ErrorCode.FORBIDDEN, 'You may not do this') {}
export class NotFoundError extends define(ErrorCode.NOT_FOUND, 'Not found') {}
export class BadUserInputError extends define(ErrorCode.BAD_USER_INPUT, 'Invalid input') {
  /** An input error naming the argument or field at fault. */
  static field(field: string, message: string): BadUserInputError {
    return new BadUserInputError(`${field}: ${message}`, { field });
  }
}
export class PlanNotAvailableError extends define(ErrorCode.PLAN_NOT_AVAILABLE, 'This plan is not on sale to you') {}
export class OutOfStockError extends define(ErrorCode.OUT_OF_STOCK, 'This plan is sold out') {}
export class CouponInvalidError extends define(ErrorCode.COUPON_INVALID, 'The coupon cannot be used') {}
export class UnpaidOrderLimitError extends define(ErrorCode.UNPAID_ORDER_LIMIT, 'Too many unpaid orders') {}
export class OrderNotPayableError extends define(ErrorCode.ORDER_NOT_PAYABLE, 'Only a pending order can be paid') {}
export class OrderNotCancellableError extends define(ErrorCode.ORDER_NOT_CANCELLABLE, 'Only a pending order can be cancelled') {}
export class OrderNotRefundableError extends define(ErrorCode.ORDER_NOT_REFUNDABLE, 'Only a paid, undelivered order can be refunded') {}
export class InsufficientBalanceError extends define(ErrorCode.INSUFFICIENT_BALANCE, 'Wallet balance is below the order total') {}
export class PaymentGatewayUnavailableError extends define(
  ErrorCode.PAYMENT_GATEWAY_UNAVAILABLE,
  'The payment gateway is unavailable; try again later',
) {}
export class InvalidStatusTransitionError extends define(ErrorCode.INVALID_STATUS_TRANSITION, 'This status change is not allowed') {}
export class RateLimitedError extends define(ErrorCode.RATE_LIMITED, 'Too many requests; slow down') {}

/** The only message an unexpected error ever shows a client. */
export const INTERNAL_MESSAGE = 'Internal server error';
