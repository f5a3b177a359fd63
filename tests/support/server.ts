import 'reflect-metadata';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type DocumentNode } from 'graphql';
import { SignJWT } from 'jose';
import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import { startApp, type RunningApp, type StartOptions } from '../../src/app';
import { loadConfig } from '../../src/config';
import { dbUrl, readTestEnv } from './env';

/** HS256 secret of test servers. */
export const TEST_SECRET = 'test-secret-0123456789-abcdefghij';

/** A fresh database copied from the migrated template; one per test file (or per need). */
export async function createTestDatabase(): Promise<string> {
  const env = readTestEnv();
  const name = `commerce_test_f${randomBytes(5).toString('hex')}_${env.templateDb.replace('commerce_test_tpl_', '')}`;
  const admin = new Client({ connectionString: env.adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name} template ${env.templateDb}`);
  } finally {
    await admin.end();
  }
  return dbUrl(env.adminUrl, name);
}

/** Signs a test token. */
export async function token(sub: string, role: 'customer' | 'provider' | 'admin' = 'customer', opts: { secret?: string; expiresIn?: string | number } = {}): Promise<string> {
  return new SignJWT({ role })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(opts.expiresIn ?? '1h')
    .sign(new TextEncoder().encode(opts.secret ?? TEST_SECRET));
}

export interface GqlResult<T = any> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, any> }>;
}

type Doc<R, V> = string | DocumentNode | TypedDocumentNode<R, V>;

/** A running API instance for tests, with an HTTP GraphQL client and SQL access to its database. */
export interface TestServer {
  app: RunningApp;
  url: string;
  wsUrl: string;
  databaseUrl: string;
  /** POSTs a GraphQL operation; `auth` is a token, or null for none. */
  gql<R = any, V = Record<string, unknown>>(doc: Doc<R, V>, variables?: V, auth?: string | null): Promise<GqlResult<R>>;
  /** Runs SQL on the server's database. A property, not a method: it is handed around on its own (`expectLedgerSound(s.sql)`). */
  sql: <T = any>(text: string, params?: unknown[]) => Promise<T[]>;
  stop(): Promise<void>;
}

/**
 * Starts the real server (Fastify, Apollo, graphql-ws, worker) on a free port. `env` overrides
 * configuration variables; `databaseUrl` shares a database between instances.
 */
export async function startTestServer(
  env: Record<string, string | undefined> = {},
  opts: { databaseUrl?: string; app?: StartOptions } = {},
): Promise<TestServer> {
  const databaseUrl = opts.databaseUrl ?? (await createTestDatabase());
  const testEnv = readTestEnv();
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    JWT_SECRET: TEST_SECRET,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // A server holds up to this many connections for requests, its job runner WORKER_CONCURRENCY + 3
    // (7 by default) and the test's own pool below 4: two jest workers' files with a server or two each
    // stay well under PostgreSQL's default 100 connections. A file that starts several servers at once
    // must run them leaner (tests/order/races.test.ts runs its instances without a job runner).
    DB_POOL_SIZE: '10',
    ...env,
  });
  const app = await startApp(config, databaseUrl, opts.app);
  const pool = new Pool({ connectionString: databaseUrl, max: 4 });
  // An idle connection the server drops (a test dropping or restarting its database) must not crash the run.
  pool.on('error', () => undefined);
  void testEnv;
  return {
    app,
    url: app.url,
    wsUrl: `${app.url.replace('http', 'ws')}/graphql`,
    databaseUrl,
    async gql(doc, variables, auth) {
      const query = typeof doc === 'string' ? doc : print(doc);
      const res = await fetch(`${app.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as GqlResult;
      return { ...body, status: res.status };
    },
    async sql(text, params) {
      return (await pool.query(text, params as unknown[])).rows;
    },
    async stop() {
      await app.stop();
      await pool.end();
    },
  };
}

/** The `extensions.code` of the first error, for terse assertions. */
export const codeOf = (r: GqlResult): string | undefined => r.errors?.[0]?.extensions?.code;
