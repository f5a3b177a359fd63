import { z } from 'zod';

/** The development HS256 secret used when none is configured outside production. */
export const DEV_JWT_SECRET = 'dev-only-secret-change-me-0123456789abcdef';

/**
 * Database connections per process when `DB_POOL_SIZE` is unset. Ten, node-postgres' and knex's own
 * default, sized to the database rather than to the callers: a request waits for a connection in this
 * process instead of adding a backend that competes for the server's cores. On a 2-core PostgreSQL,
 * payments at 32 concurrent requests ran 1.1-1.6x the rate of 8 through ten connections, and 0.87-1.0x
 * through twenty.
 */
export const DEFAULT_DB_POOL_SIZE = 10;

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no']))
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const url = (protocols: string[]) =>
  z
    .string()
    .trim()
    .refine((v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    }, `must be a URL (${protocols.join(' or ')})`);

const optional = <T extends z.ZodTypeAny>(t: T) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), t.optional());

/** The environment variables, each validated alone (CONTRACT.md's configuration table). */
const envSchema = z.object({
  NODE_ENV: optional(z.enum(['development', 'production', 'test'])),
  PORT: optional(int(0, 65535)),
  HOST: optional(z.string().min(1)),
  DATABASE_URL: optional(url(['postgres:', 'postgresql:'])),
  DATA_DIR: optional(z.string().min(1)),
  REDIS_URL: optional(url(['redis:', 'rediss:'])),
  JWT_SECRET: optional(z.string().min(16, 'must be at least 16 characters')),
  JWT_JWKS_URL: optional(url(['http:', 'https:'])),
  JWT_ISSUER: optional(z.string().min(1)),
  JWT_AUDIENCE: optional(z.string().min(1)),
  STRIPE_SECRET_KEY: optional(z.string().min(1)),
  STRIPE_WEBHOOK_SECRET: optional(z.string().min(1)),
  STRIPE_API_URL: optional(url(['http:', 'https:'])),
  PUBLIC_URL: optional(url(['http:', 'https:'])),
  CURRENCY: optional(z.string().trim().regex(/^[A-Za-z]{3}$/, 'must be a 3-letter ISO 4217 code').transform((v) => v.toUpperCase())),
  TAX_RATE_BPS: optional(int(0, 10000)),
  PLATFORM_FEE_BPS: optional(int(0, 10000)),
  PROFIT_TAX_BPS: optional(int(0, 10000)),
  ORDER_PAYMENT_TIMEOUT_SECONDS: optional(int(1, 30 * 24 * 3600)),
  MAX_UNPAID_ORDERS: optional(int(1, 1000)),
  SMTP_URL: optional(url(['smtp:', 'smtps:'])),
  MAIL_FROM: optional(z.string().trim().min(3).max(200)),
  MAIL_TO_TEMPLATE: optional(z.string().trim().regex(/^[^@\s]*\{customerId\}[^@\s]*@[^@\s]+$/, 'must look like {customerId}@example.com')),
  DELIVERY_MAX_ATTEMPTS: optional(int(1, 25)),
  DELIVERY_WEBHOOK_URL: optional(url(['http:', 'https:'])),
  LOG_LEVEL: optional(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])),
  BODY_LIMIT_BYTES: optional(int(1024, 10 * 1024 * 1024)),
  COUPON_PREVIEW_RATE_LIMIT: optional(int(1)),
  CATALOGUE_MAX_AGE_SECONDS: optional(int(1, 3600)),
  MUTATION_RATE_LIMIT: optional(int(1)),
  RATE_LIMIT_WINDOW_SECONDS: optional(int(1, 24 * 3600)),
  GRAPHQL_INTROSPECTION: optional(bool),
  MAX_QUERY_DEPTH: optional(int(2, 100)),
  MAX_QUERY_COMPLEXITY: optional(int(10, 1_000_000)),
  MAX_ALIASES: optional(int(0, 10_000)),
  WS_INIT_TIMEOUT_MS: optional(int(100, 600_000)),
  WS_MAX_SOCKETS_PER_CALLER: optional(int(1, 100_000)),
  RUN_WORKER: optional(bool),
  WORKER_CONCURRENCY: optional(int(1, 100)),
  DB_POOL_SIZE: optional(int(1, 200)),
});

/** A rule across variables broken: the whole one-line message, with no variable in front of it. */
const refuse = (ctx: z.RefinementCtx, message: string): typeof z.NEVER => {
  ctx.addIssue({ code: z.ZodIssueCode.custom, message });
  return z.NEVER;
};

/**
 * The configuration as the process uses it: the validated variables, with their defaults, the rules
 * that tie several of them together (production's requirements, exclusive keys) and what follows
 * from them. {@link Config} is its output, so each setting is declared once, here.
 */
const configSchema = envSchema.transform((e, ctx) => {
  const nodeEnv = e.NODE_ENV ?? 'development';
  const isProduction = nodeEnv === 'production';
  const port = e.PORT ?? 4000;

  if (isProduction) {
    const missing: string[] = [];
    if (!e.DATABASE_URL) missing.push('DATABASE_URL');
    if (!e.JWT_SECRET && !e.JWT_JWKS_URL) missing.push('JWT_SECRET or JWT_JWKS_URL');
    if (!e.STRIPE_SECRET_KEY) missing.push('STRIPE_SECRET_KEY');
    if (!e.STRIPE_WEBHOOK_SECRET) missing.push('STRIPE_WEBHOOK_SECRET');
    if (missing.length) return refuse(ctx, `NODE_ENV=production requires ${missing.join(', ')}`);
    if (e.JWT_JWKS_URL) {
      // Keys fetched over plain http could be swapped by anyone on the path; unbound iss/aud would accept
      // every token the identity provider signs, for any application.
      if (new URL(e.JWT_JWKS_URL).protocol !== 'https:') {
        return refuse(ctx, `JWT_JWKS_URL must be an https URL in production (got ${JSON.stringify(e.JWT_JWKS_URL.slice(0, 60))})`);
      }
      const unbound = [e.JWT_ISSUER ? '' : 'JWT_ISSUER', e.JWT_AUDIENCE ? '' : 'JWT_AUDIENCE'].filter(Boolean);
      if (unbound.length) return refuse(ctx, `NODE_ENV=production with JWT_JWKS_URL requires ${unbound.join(' and ')}`);
    }
  }
  if (e.JWT_SECRET && e.JWT_JWKS_URL) return refuse(ctx, 'JWT_SECRET and JWT_JWKS_URL are exclusive; set one');
  if (Boolean(e.STRIPE_SECRET_KEY) !== Boolean(e.STRIPE_WEBHOOK_SECRET)) {
    return refuse(ctx, 'STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET must be set together');
  }
  const devSecret = !e.JWT_SECRET && !e.JWT_JWKS_URL;

  return {
    nodeEnv,
    isProduction,
    port,
    /**
     * Interface to listen on: `127.0.0.1` outside production, `0.0.0.0` in production, unless `HOST` says
     * otherwise. Outside production a server is a developer's: unreachable from the network unless asked.
     */
    host: e.HOST ?? (isProduction ? '0.0.0.0' : '127.0.0.1'),
    /** Unset: an embedded PostgreSQL under `dataDir`. */
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR ?? './.data',
    /** Unset: in-process pub/sub, one instance only. */
    redisUrl: e.REDIS_URL,
    jwt: {
      /** HS256 secret; when neither secret nor JWKS URL is set outside production a dev secret is used. */
      secret: devSecret ? DEV_JWT_SECRET : e.JWT_SECRET,
      jwksUrl: e.JWT_JWKS_URL,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      /** True when the built-in development secret is in use. */
      devSecret,
      /** Tokens must carry `exp` (production): a token without one would be valid forever. */
      requireExp: isProduction,
    },
    stripe: {
      secretKey: e.STRIPE_SECRET_KEY,
      webhookSecret: e.STRIPE_WEBHOOK_SECRET,
      apiUrl: e.STRIPE_API_URL,
      /** True when no Stripe keys are set: the built-in development gateway stands in (never in production). */
      devGateway: !e.STRIPE_SECRET_KEY,
    },
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/+$/, ''),
    currency: e.CURRENCY ?? 'USD',
    taxRateBps: e.TAX_RATE_BPS ?? 1500,
    platformFeeBps: e.PLATFORM_FEE_BPS ?? 2000,
    profitTaxBps: e.PROFIT_TAX_BPS ?? 1500,
    orderPaymentTimeoutSeconds: e.ORDER_PAYMENT_TIMEOUT_SECONDS ?? 900,
    maxUnpaidOrders: e.MAX_UNPAID_ORDERS ?? 3,
    smtpUrl: e.SMTP_URL,
    /** Sender of order mails (`MAIL_FROM`). */
    mailFrom: e.MAIL_FROM ?? 'Orders <orders@commerce.invalid>',
    /** Recipient address of a customer's mails; `{customerId}` is replaced by the (encoded) customer id (`MAIL_TO_TEMPLATE`). */
    mailToTemplate: e.MAIL_TO_TEMPLATE ?? '{customerId}@customers.invalid',
    /** Tries of an automatic delivery before it ends FAILED (`DELIVERY_MAX_ATTEMPTS`). */
    deliveryMaxAttempts: e.DELIVERY_MAX_ATTEMPTS ?? 5,
    /** When set, automatic delivery asks this URL to provision the service and completes only on a 2xx (`DELIVERY_WEBHOOK_URL`). */
    deliveryWebhookUrl: e.DELIVERY_WEBHOOK_URL,
    logLevel: e.LOG_LEVEL ?? (nodeEnv === 'test' ? 'silent' : 'info'),
    bodyLimitBytes: e.BODY_LIMIT_BYTES ?? 100 * 1024,
    /** Per-caller `couponPreview` calls allowed per `rateLimitWindowSeconds`. */
    couponPreviewRateLimit: e.COUPON_PREVIEW_RATE_LIMIT ?? 30,
    /** Longest time a catalogue listing may lag a change that reached this instance by no bus message. */
    catalogueMaxAgeSeconds: e.CATALOGUE_MAX_AGE_SECONDS ?? 5,
    /** Per-caller mutations allowed per `rateLimitWindowSeconds`. */
    mutationRateLimit: e.MUTATION_RATE_LIMIT ?? 600,
    rateLimitWindowSeconds: e.RATE_LIMIT_WINDOW_SECONDS ?? 60,
    introspection: e.GRAPHQL_INTROSPECTION ?? true,
    /** Deepest selection nesting an operation may have (introspection fields excepted). */
    maxQueryDepth: e.MAX_QUERY_DEPTH ?? 10,
    /** Highest complexity (fields counted, with any field-declared weights) an operation may have. */
    maxQueryComplexity: e.MAX_QUERY_COMPLEXITY ?? 8000,
    /** Most aliased fields one document may hold. */
    maxAliases: e.MAX_ALIASES ?? 30,
    /** How long a WebSocket may wait before its `connection_init` (then closed with 4408) and before it authenticates (then 4401). */
    wsInitTimeoutMs: e.WS_INIT_TIMEOUT_MS ?? 10_000,
    /** WebSockets one caller (token subject, else address) may hold at once on one instance (`WS_MAX_SOCKETS_PER_CALLER`). */
    wsMaxSocketsPerCaller: e.WS_MAX_SOCKETS_PER_CALLER ?? 20,
    /** Run the graphile-worker job runner inside the API process. */
    runWorker: e.RUN_WORKER ?? true,
    workerConcurrency: e.WORKER_CONCURRENCY ?? 4,
    /** Database connections per process (`DB_POOL_SIZE`); see {@link DEFAULT_DB_POOL_SIZE}. */
    dbPoolSize: e.DB_POOL_SIZE ?? DEFAULT_DB_POOL_SIZE,
  };
});

/** Typed, validated configuration, as {@link loadConfig} returns it. Read once at start; see CONTRACT.md's configuration table. */
export type Config = z.output<typeof configSchema>;

/** A configuration problem: one line, naming the variable. */
export class ConfigError extends Error {}

/**
 * Parses and validates the environment. Throws a {@link ConfigError} whose message is one line naming
 * the first bad variable, so a misconfigured process stops at once with a clear reason.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  // A rule across variables names them in its own message.
  if (issue.path.length === 0) throw new ConfigError(`Invalid configuration: ${issue.message}`);
  const name = String(issue.path[0]);
  const shown = env[name] === undefined ? '' : ` (got ${JSON.stringify(String(env[name]).slice(0, 40))})`;
  throw new ConfigError(`Invalid configuration: ${name} ${issue.message}${shown}`);
}

/** {@link loadConfig} for a process entry point: a bad configuration prints its one line and exits 1. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(1);
    }
    throw e;
  }
}
