import type { FastifyInstance } from 'fastify';
import type { Config } from '../config';
import type { Orm } from '../infra/orm';
import { registerPaymentRoutes } from '../modules/payment';
import type { Services } from '../services';

/** What a module's HTTP routes may use. */
export interface RouteDeps {
  config: Config;
  orm: Orm;
  services: Services;
}

/** Registers the non-GraphQL HTTP routes of the modules (webhooks, development pages). */
export async function registerRoutes(http: FastifyInstance, deps: RouteDeps): Promise<void> {
  await registerPaymentRoutes(http, deps);
  // Connections the modules hold outside the ORM (rate-limit counters in Redis) close with the server.
  http.addHook('onClose', async () => {
    await deps.services.coupons.close();
  });
}
