import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import fastifyApollo, { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Config } from './config';
import { createContext, type Context } from './context';
import { entities } from './entities';
import { CatalogueAnswers, catalogueResponseCache, serveCatalogueAnswers } from './http/catalogue-responses';
import { CompiledExecution, compiledExecutionGateway } from './http/compiled-execution';
import { serveOperationsDirectly } from './http/direct-operations';
import { formatError, httpErrorHandler } from './http/errors';
import { graphiqlLandingPage } from './http/graphiql';
import { callerKey, DocumentCache, limitRules, limitsOf, limitsPlugin, MutationLimiter, mutationsOf } from './http/limits';
import { loggerOptions, operationLogPlugin, registerRequestLog, type LogDestination } from './http/logging';
import { registerRoutes } from './http/routes';
import { attachWebSocket } from './http/ws';
import { TokenVerifier, type Principal } from './infra/auth';
import { migrateJobs, startWorker, type Runner } from './infra/jobs';
import { initOrm, migrate, type Orm, type OrmHooks } from './infra/orm';
import { memoryBus, redisBus, type EventBus } from './infra/pubsub';
import { createSchema } from './schema';
import { createServices, type AppTopics, type Services } from './services';
import { RateLimitedError, UnauthenticatedError } from './shared/errors';

/** An Authorization header with a scheme and no token. */
const EMPTY_BEARER = /^\s*(bearer)?\s*$/i;

/** A started API instance. */
export interface RunningApp {
  config: Config;
  http: FastifyInstance;
  orm: Orm;
  bus: EventBus<AppTopics>;
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
  /** Where the JSON log lines go instead of stdout (tests read them). */
  logStream?: LogDestination;
  /** More Apollo plugins, after the app's own (tests see which requests reach Apollo's pipeline). */
  plugins?: ApolloServerPlugin<Context>[];
}

/** Builds and starts one API instance on `databaseUrl`: HTTP and WebSocket GraphQL, health, worker. */
export async function startApp(config: Config, databaseUrl: string, opts: StartOptions = {}): Promise<RunningApp> {
  const http = Fastify({
    logger: loggerOptions(config, opts.logStream),
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
  http.setErrorHandler(httpErrorHandler);

  const orm = await initOrm(entities, databaseUrl, config.dbPoolSize, opts.orm);
  if (opts.migrate !== false) {
    await migrate(orm);
    await migrateJobs(databaseUrl);
  }
  const bus = config.redisUrl ? redisBus<AppTopics>(config.redisUrl, (e) => log.warn({ err: e.message }, 'redis error')) : memoryBus<AppTopics>();
  const services = createServices({ config, bus, orm, log: (m, fields) => log.info(fields, m) });
  const verifier = new TokenVerifier(config.jwt);
  const schema = await createSchema();

  const contextFor = (principal: Principal | null, requestId: string): Context =>
    createContext({ requestId, config, services, fork: () => orm.em.fork(), root: orm.em, principal });
  /**
   * The caller an HTTP request's Authorization header names: null for none (no header, or a bare
   * `Bearer `, the IDE's header placeholder); a token that does not verify is UNAUTHENTICATED (401).
   */
  const callerOf = async (header: string | undefined): Promise<Principal | null> => {
    if (!header || EMPTY_BEARER.test(header)) return null;
    try {
      return await verifier.verifyHeader(header);
    } catch (e) {
      throw new UnauthenticatedError((e as Error).message, { http: { status: 401 } });
    }
  };
  /** {@link callerOf} for the paths that answer before Apollo: undefined for a refused header, which Apollo then answers. */
  const principalOf = (header: string | undefined) => callerOf(header).catch(() => undefined);

  registerRequestLog(http);
  // While stopping, answers close their connection so keep-alive clients do not hold the drain open.
  let closing = false;
  http.addHook('onSend', async (_req, reply) => {
    if (closing) reply.header('connection', 'close');
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

  const limits = limitsOf(config);
  const catalogueAnswers = new CatalogueAnswers(services.plans.maxAgeMs);
  const mutationLimiter = new MutationLimiter(config, (e) => log.warn({ err: e.message }, 'rate limiter store error'));

  const execution = new CompiledExecution(schema);
  const apollo = new ApolloServer<Context>({
    gateway: compiledExecutionGateway(schema, execution),
    introspection: config.introspection,
    includeStacktraceInErrorResponses: false,
    // Whatever Apollo itself reports goes to the JSON logs, never to the console.
    logger: log,
    // The process owner (main.ts, tests) decides when to stop; Apollo must not exit on signals itself.
    stopOnTerminationSignals: false,
    formatError,
    validationRules: limitRules(limits),
    plugins: [
      fastifyApolloDrainPlugin(http),
      // No cache hints are used (answers may be private or per group); without this Apollo wraps every resolver to collect them.
      ApolloServerPluginCacheControlDisabled(),
      catalogueResponseCache(catalogueAnswers),
      // The IDE needs introspection; with introspection off the landing page is off too.
      ...(config.introspection ? [graphiqlLandingPage()] : [ApolloServerPluginLandingPageDisabled()]),
      operationLogPlugin(log),
      limitsPlugin({ schema, limits, mutations: mutationLimiter, ip: (ctx) => (ctx as Context & { req?: { ip?: string } }).req?.ip }),
      ...(opts.plugins ?? []),
    ],
  });
  await apollo.start();
  const documents = new DocumentCache(schema, limits, { introspection: config.introspection });
  const requestContext = (principal: Principal | null, req: FastifyRequest): Context => Object.assign(contextFor(principal, String(req.id)), { req });
  serveCatalogueAnswers(http, { answers: catalogueAnswers, principalOf, plans: services.plans, fork: () => orm.em.fork(), path: '/graphql' });
  serveOperationsDirectly(http, {
    schema,
    path: '/graphql',
    documents,
    mutations: mutationLimiter,
    principalOf,
    contextFor: requestContext,
    execute: (run) => execution.execute(run),
    log,
  });
  await http.register(fastifyApollo(apollo), {
    path: '/graphql',
    context: async (req) => {
      const principal = await callerOf(req.headers.authorization);
      if (principal) req.callerId = principal.sub;
      return requestContext(principal, req);
    },
  });

  await http.listen({ port: config.port, host: config.host });
  const ws = attachWebSocket({
    server: http.server,
    schema,
    verifier,
    log,
    context: (p) => contextFor(p, randomUUID()),
    initTimeoutMs: config.wsInitTimeoutMs,
    maxSocketsPerCaller: config.wsMaxSocketsPerCaller,
    maxMessageBytes: config.bodyLimitBytes,
    execute: (run) => execution.execute(run),
    subscribe: (run) => execution.subscribe(run),
    prepareOperation: async (caller, payload) => {
      const prepared = documents.prepare(payload.query, payload.variables, payload.operationName);
      if (prepared.errors) return prepared;
      const mutations = mutationsOf(prepared.document, payload.operationName);
      if (mutations > 0) {
        try {
          await mutationLimiter.consume(callerKey(caller.principal?.sub, caller.ip), mutations);
        } catch (e) {
          if (e instanceof RateLimitedError) return { errors: [e] };
          throw e;
        }
      }
      return prepared;
    },
  });

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
        closing = true;
        await ws.close();
        await apollo.stop(); // drains and closes the Fastify server
        await worker?.stop();
        await bus.close();
        await mutationLimiter.close();
        await orm.close();
      })()),
  };
}
