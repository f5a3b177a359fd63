// Module boundaries of the API, checked by `npm run deps` (dependency-cruiser over src/).
// `npm run deps:graph` draws the same graph, one node per module or folder, into docs/modules.svg.
//
// The layers: src/shared (error classes, money, cursors: depends on nothing of the app) ← src/infra
// (database, jobs, pub/sub, Stripe, mail: knows no business module) ← src/modules/<m> (one business
// area each, used by the others only through src/modules/<m>/index.ts) ← the wiring at the top
// (app.ts, schema.ts, services.ts, entities.ts, context.ts, src/http).

/** Paths of one business module's files; `$1` in a `to` refers to the module matched in `from`. */
const MODULE = '^src/modules/([^/]+)/';
/** Packages that speak SQL, or reach the outside world, which a resolver leaves to services. */
const INFRA_PACKAGES = [
  'pg',
  'pg-[^/]+',
  'knex',
  '@mikro-orm/knex',
  '@mikro-orm/postgresql',
  'graphile-worker',
  'ioredis',
  'graphql-redis-subscriptions',
  'stripe',
  'nodemailer',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'module-entry-only',
      severity: 'error',
      comment:
        'Another module is used only through its public entry, src/modules/<m>/index.ts: what it does not ' +
        'export there is its own business. Import from the module folder (e.g. "../order"), and export what ' +
        'is missing from its index.ts.',
      from: { path: MODULE },
      to: { path: '^src/modules/[^/]+/', pathNot: ['^src/modules/$1/', '^src/modules/[^/]+/index[.]ts$'] },
    },
    {
      name: 'module-entry-only-outside',
      severity: 'error',
      comment:
        'Code outside src/modules (the wiring in app.ts, schema.ts, services.ts, entities.ts, context.ts, ' +
        'src/http, src/infra) uses a module only through src/modules/<m>/index.ts.',
      from: { path: '^src/', pathNot: '^src/modules/' },
      to: { path: '^src/modules/[^/]+/', pathNot: '^src/modules/[^/]+/index[.]ts$' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'This import closes a cycle (type-only imports count: they couple the modules just the same). ' +
        'Break it by moving the shared piece down (to the module both use, or src/shared), or by ' +
        'passing it in (an interface in the lower module, implemented above).',
      from: {},
      to: { circular: true },
    },
    {
      name: 'resolver-no-infra',
      severity: 'error',
      comment:
        'A resolver is a thin adapter between GraphQL and a service: no SQL, no connections, no outside ' +
        'services. It may not import src/infra/ nor the packages that talk to PostgreSQL, Redis, Stripe or ' +
        'SMTP; that work belongs in the module service it calls.',
      from: { path: '[.]resolver[.]ts$' },
      to: {
        path: ['^src/infra/', `(^|/)node_modules/(${INFRA_PACKAGES.join('|')})/`, `^(${INFRA_PACKAGES.join('|')})$`],
      },
    },
    {
      name: 'infra-not-to-modules',
      severity: 'error',
      comment:
        'src/infra/ is the technical layer under the business modules: it knows no module. What it needs ' +
        'from one (a role, an event payload type) is either moved to src/shared or passed in by the caller.',
      from: { path: '^src/infra/' },
      to: { path: '^src/modules/' },
    },
    {
      name: 'infra-not-to-app',
      severity: 'error',
      comment:
        'src/infra/ may use src/shared, src/config.ts and itself, never the wiring above it (entities.ts, ' +
        'services.ts, schema.ts, app.ts, context.ts, src/http): the caller passes such things in.',
      from: { path: '^src/infra/' },
      to: { path: '^src/', pathNot: ['^src/infra/', '^src/shared/', '^src/config[.]ts$', '^src/modules/'] },
    },
    {
      name: 'shared-is-a-leaf',
      severity: 'error',
      comment:
        'src/shared/ is the kernel every layer may use, so it imports only node, packages and itself; ' +
        'anything of the app it would need belongs elsewhere.',
      from: { path: '^src/shared/' },
      to: { path: '^src/', pathNot: '^src/shared/' },
    },
    {
      name: 'src-not-to-tooling',
      severity: 'error',
      comment: 'The service does not depend on its tests, bench or scripts (they are not in the build).',
      from: { path: '^src/' },
      to: { path: '^(tests|bench|scripts)/' },
    },
    {
      name: 'not-to-dev-dep',
      severity: 'error',
      comment:
        'The image keeps only "dependencies" (npm prune --omit=dev): the service may not need a ' +
        'devDependency at run time. Move the package to "dependencies", or import only its types.',
      from: { path: '^(src|migrations)/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'], pathNot: ['node_modules/@types/'] },
    },
    {
      name: 'no-non-package-json',
      severity: 'error',
      comment:
        'This imports a package that package.json does not declare (it is only there as some other ' +
        "package's dependency, in a version nobody chose). Declare it.",
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'This import cannot be resolved to a file.',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-deprecated-core',
      severity: 'error',
      comment: 'A deprecated node core module; node has a replacement for each.',
      from: {},
      to: { dependencyTypes: ['core'], path: ['^punycode$', '^domain$', '^constants$', '^sys$', '^_linklist$', '^_stream_wrap$'] },
    },
    {
      name: 'no-orphans',
      severity: 'error',
      comment:
        'Nothing imports this file: it is dead, or an entry point that belongs in the exceptions below.',
      from: {
        orphan: true,
        pathNot: ['[.]d[.]ts$', '^src/main[.]ts$', '^src/worker[.]ts$'],
      },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    // Type-only imports are dependencies too: a cycle through `import type` is still a cycle of design.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    detectProcessBuiltinModuleCalls: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.json'],
      mainFields: ['main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: {
      dot: {
        // One node per business module and per folder of src (top-level files stay files); packages are
        // left out of the picture by --include-only in the deps:graph script.
        collapsePattern: '^src/(?:modules/[^/]+|[^/]+)/',
        theme: {
          graph: { rankdir: 'TB', splines: 'true', fontname: 'Helvetica' },
          node: { fontname: 'Helvetica' },
          modules: [
            { criteria: { source: '^src/modules/' }, attributes: { fillcolor: '#d7ecff' } },
            { criteria: { source: '^src/infra' }, attributes: { fillcolor: '#ffe7c2' } },
            { criteria: { source: '^src/shared' }, attributes: { fillcolor: '#e3f6d5' } },
            { criteria: { source: '^src/http' }, attributes: { fillcolor: '#f1e1ff' } },
          ],
          dependencies: [
            // Rule breaks in red (`npm run deps` names the rules; deps:graph drops the names from the picture).
            { criteria: { valid: false }, attributes: { color: '#c0392b', penwidth: '1.5' } },
          ],
        },
      },
    },
  },
};
