# One image for the three services; SERVICE picks the entry point. It holds compiled JavaScript and production
# dependencies only, and runs on plain node as an unprivileged user (test/production-image.test.ts runs this layout).

# Build: every dependency (TypeScript, tsx), the workspaces compiled into their dist/, then the image's tree
# assembled in /prod: manifests, lockfile, and what each workspace's package.json `files` ships (infra/docker).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.base.json tsconfig.build.json ./
COPY packages/ packages/
COPY services/ services/
COPY infra/kafka/ infra/kafka/
COPY infra/tfjs-node/ infra/tfjs-node/
COPY infra/docker/ infra/docker/
# npm ci's postinstall builds tfjs-node from the TensorFlow wheel where python3, make and g++ exist; this slim image
# has none, so it says why and the services run on the wasm backend.
RUN npm ci --no-audit --no-fund && npm run build && npx tsx infra/docker/assemble.ts /prod

# Run: production dependencies only. --ignore-scripts: the install scripts left are the root postinstall (the
# tfjs-node build above, which needs tsx and a compiler), tfjs-node's own download (unreachable; it is optional) and
# lmdb's and msgpackr-extract's checks for their prebuilt binaries, which arrive as platform packages anyway.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /prod /app
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force \
  && mkdir -p /app/.data && chown node:node /app/.data
# The unprivileged `node` user (uid 1000) of the base image, which owns nothing but the data volume.
USER node
ARG SERVICE
ENV SERVICE=${SERVICE}
VOLUME /app/.data
# The `compiled` condition makes every @pncf/* import resolve to dist/*.js (package.json `exports`); without it they
# name the TypeScript sources, for tsx and vitest. Not `production`, which Vite (vitest) sets by itself when
# NODE_ENV=production.
CMD ["sh", "-c", "exec node --conditions=compiled services/${SERVICE}/dist/main.js"]
