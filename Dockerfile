# One image for the three services; SERVICE picks the entry point.
# Sources still run through tsx (a production dependency of @pncf/cli, and what the worker threads register): the
# workspaces are not compiled to JavaScript yet.

# Build: production dependencies only. npm ci's postinstall builds tfjs-node from the TensorFlow wheel where
# python3, make and g++ exist; this slim image has none, so it says why and the services run on the wasm backend.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY packages/ packages/
COPY services/ services/
COPY infra/kafka/ infra/kafka/
COPY infra/tfjs-node/ infra/tfjs-node/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Run: the unprivileged `node` user (uid 1000) of the base image, which owns nothing but the data volume.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app /app
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
ARG SERVICE
ENV SERVICE=${SERVICE}
VOLUME /app/.data
CMD ["sh", "-c", "exec node --import tsx services/${SERVICE}/src/main.ts"]
