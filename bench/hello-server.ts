/**
 * The HTTP ceiling of the bench: Apollo Server 5 answering `{ hello }` on Fastify 5 through
 * @as-integrations/fastify, with the API's own process settings (logger, request ids, the per-request
 * log hook, body limit, drain plugin, no cache-control hints). Whatever the API does beyond this is the
 * cost of its own work.
 *
 * Run built (`dist/bench/hello-server.js`) with PORT, HOST and LOG_LEVEL; answers /healthz.
 */
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import fastifyApollo, { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import Fastify, { LogController } from 'fastify';
import { randomUUID } from 'node:crypto';

const typeDefs = `type Query { hello: String! }`;
const resolvers = { Query: { hello: () => 'world' } };

async function main(): Promise<void> {
  const http = Fastify({
    logger: { level: process.env.LOG_LEVEL ?? 'warn', redact: ['req.headers.authorization', 'headers.authorization'] },
    bodyLimit: 100 * 1024,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
    },
    forceCloseConnections: 'idle',
  });
  http.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  http.addHook('onResponse', async (req, reply) => {
    http.log.info({ reqId: req.id, method: req.method, url: req.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });
  http.get('/healthz', async () => ({ status: 'ok' }));

  const apollo = new ApolloServer<{ requestId: string }>({ typeDefs, resolvers, includeStacktraceInErrorResponses: false, plugins: [fastifyApolloDrainPlugin(http), ApolloServerPluginCacheControlDisabled()] });
  await apollo.start();
  await http.register(fastifyApollo(apollo), { path: '/graphql', context: async (req) => ({ requestId: String(req.id) }) });
  await http.listen({ port: Number(process.env.PORT ?? 4100), host: process.env.HOST ?? '127.0.0.1' });

  const stop = async () => {
    await apollo.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((e) => {
  console.error('[hello] failed to start:', e);
  process.exit(1);
});
