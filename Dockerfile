# One image for the three services; SERVICE picks the entry point. Sources run through tsx (no build step).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/ packages/
COPY services/ services/
COPY infra/kafka/ infra/kafka/
# npm ci's postinstall builds tfjs-node from the TensorFlow wheel where python3, make and g++ exist; this slim
# image has none, so it says why and the services run on the wasm backend.
COPY infra/tfjs-node/ infra/tfjs-node/
COPY tsconfig.json ./
RUN npm ci --no-audit --no-fund
ARG SERVICE
ENV SERVICE=${SERVICE} NODE_ENV=production
VOLUME /app/.data
CMD ["sh", "-c", "exec node --import tsx services/${SERVICE}/src/main.ts"]
