import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import fastifyApollo, { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Config } from './config';
import { createContext, type Context } from './context';
import { TokenVerifier, type Principal } from './infra/auth';
import { migrateJobs, startWorker, type Runner } from './infra/jobs';
import { initOrm, migrate, type Orm, type OrmHooks } from './infra/orm';
import { memoryBus, redisBus, type EventBus } from './infra/pubsub';
import { formatError, isExpected } from './http/errors';
import { graphiqlLandingPage } from './http/graphiql';
import { registerRoutes } from './http/routes';
import { attachWebSocket } from './http/ws';
import { createSchema } from './schema';
import { createServices, type Services } from './services';
import { UnauthenticatedError } from './shared/errors';

declare module 'fastify' {
  interface FastifyRequest {
    operationName?: string;
    callerId?: string;
  }
}

/** A started API instance. */
export interface RunningApp {
  config: Config;
  http: FastifyInstance;
  orm: Orm;
  bus: EventBus;
  services: Services;
  /** `http://host:port` it listens on. */
  url: string;
  port: number;
  /** Whether the job runner runs in this process. */
  worker: Runner | null;
  /** Graceful stop: refuse new work, finish what is in flight, close sockets (1001), worker, pub/sub, ORM. */
  stop(): Promise<void>;
}

/** How {@link startApp} runs: `migrate: false` skips migrations; `orm` observes the ORM (query counting). */
export interface StartOptions {
  migrate?: boolean;
  orm?: OrmHooks;
}

/** Builds and starts one API instance on `databaseUrl`: HTTP and WebSocket GraphQL, health, worker. */
export async function startApp(config: Config, databaseUrl: string, opts: StartOptions = {}): Promise<RunningApp> {
  const http = Fastify({
    logger: { level: config.logLevel, redact: ['req.headers.authorization', 'headers.authorization'] },
    bodyLimit: config.bodyLimitBytes,
    // One line per request is written by the onResponse hook below, with operation and caller.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
    },
    forceCloseConnections: 'idle',
  });
  const log = http.log;

  const orm = await initOrm(databaseUrl, config.dbPoolSize, opts.orm);
  if (opts.migrate !== false) {
    await migrate(orm);
    await migrateJobs(databaseUrl);
  }
  const bus = config.redisUrl ? redisBus(config.redisUrl, (e) => log.warn({ err: e.message }, 'redis error')) : memoryBus();
  const services = createServices({ config, bus });
  const verifier = new TokenVerifier(config.jwt);
  const schema = await createSchema();

  const contextFor = (principal: Principal | null, requestId: string): Context =>
    createContext({ requestId, config, services, em: orm.em.fork(), principal });

  http.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  http.addHook('onResponse', async (req, reply) => {
    log.info(
      {
        reqId: req.id,
        method: req.method,
        url: req.url.split('?')[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        op: req.operationName,
        caller: req.callerId,
      },
      'request',
    );
  });

  http.get('/healthz', async () => ({ status: 'ok' }));
  http.get('/readyz', async (_req, reply) => {
    const checks: Record<string, 'ok' | 'down'> = {};
    try {
      await orm.em.getConnection().execute('select 1');
      checks.database = 'ok';
    } catch {
      checks.database = 'down';
    }
    if (config.redisUrl) checks.redis = bus.healthy() ? 'ok' : 'down';
    const ready = Object.values(checks).every((v) => v === 'ok');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', checks });
  });

  await registerRoutes(http, { config, orm, services });

  const logErrors: ApolloServerPlugin<Context> = {
    async requestDidStart({ request, contextValue }) {
      return {
        async didResolveOperation({ operationName }) {
          const req = (contextValue as Context & { req?: FastifyRequest }).req;
          if (req) req.operationName = operationName ?? undefined;
        },
        async didEncounterErrors({ errors }) {
          for (const e of errors) {
            if (!isExpected(e)) log.error({ reqId: contextValue.requestId, op: request.operationName, err: e.originalError ?? e }, 'unexpected error');
          }
        },
      };
    },
  };

  const apollo = new ApolloServer<Context>({
    schema,
    introspection: config.introspection,
    includeStacktraceInErrorResponses: false,
    formatError,
    plugins: [fastifyApolloDrainPlugin(http), graphiqlLandingPage(), logErrors],
  });
  await apollo.start();
  await http.register(fastifyApollo(apollo), {
    path: '/graphql',
    context: async (req) => {
      let principal: Principal | null = null;
      const header = req.headers.authorization;
      if (header) {
        try {
          principal = await verifier.verifyHeader(header);
        } catch (e) {
          throw new UnauthenticatedError((e as Error).message, { http: { status: 401 } });
        }
        req.callerId = principal.sub;
      }
      return Object.assign(contextFor(principal, String(req.id)), { req });
    },
  });

  await http.listen({ port: config.port, host: config.host });
  const ws = attachWebSocket({ server: http.server, schema, verifier, log, context: (p) => contextFor(p, randomUUID()) });

  const worker = config.runWorker
    ? await startWorker(databaseUrl, services.tasks, {
        concurrency: config.workerConcurrency,
        log: (level, message) => (level === 'error' ? log.error(message) : log.debug(message)),
      })
    : null;

  const port = (http.server.address() as AddressInfo).port;
  let stopping: Promise<void> | undefined;
  return {
    config,
    http,
    orm,
    bus,
    services,
    url: `http://127.0.0.1:${port}`,
    port,
    worker,
    stop: () =>
      (stopping ??= (async () => {
        await ws.close();
        await apollo.stop(); // drains and closes the Fastify server
        await worker?.stop();
        await bus.close();
        await orm.close();
      })()),
  };
}
