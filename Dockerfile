# The API as one image: compiled once, run with node (no TypeScript at run time).
FROM node:20-slim AS build
WORKDIR /app
# patches/ before the install: npm ci applies them (postinstall: patch-package).
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
COPY scripts ./scripts
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-slim
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
# Production by default: the development secret (public in the source) and the development payment
# gateway are refused, and the configuration must name the database, the token keys and Stripe.
# HOST: inside a container the API must listen beyond loopback to be reachable through a published port.
ENV NODE_ENV=production HOST=0.0.0.0 PORT=4000
EXPOSE 4000
# Migrations run at start (they are compiled into dist/migrations and listed statically).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The V8 flags of `npm run start:prod` (node runs directly, to receive SIGTERM): the heap is not shrunk
# while the instance is quiet, the young generation keeps its size, full collections come less often,
# and no allocation site is moved to the old generation wholesale (README, "Operating it").
CMD ["node", "--no-memory-reducer", "--min-semi-space-size=16", "--heap-growing-percent=100", "--no-allocation-site-pretenuring", "dist/src/main.js"]
