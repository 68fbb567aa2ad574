# One image for the three services; SERVICE picks the entry point. Sources run through tsx (no build step).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/ packages/
COPY services/ services/
COPY infra/kafka/ infra/kafka/
COPY tsconfig.json ./
RUN npm ci --no-audit --no-fund
ARG SERVICE
ENV SERVICE=${SERVICE} NODE_ENV=production
VOLUME /app/.data
CMD ["sh", "-c", "exec node --import tsx services/${SERVICE}/src/main.ts"]
