# syntax=docker/dockerfile:1
# The podgate admission webhook, run as `args: ["webhook", "--tls-cert", ...]` by the chart.
# Build from the repository root:
#   docker build -f images/webhook.Dockerfile -t ghcr.io/podgate/podgate-webhook:0.1.0 .
# The same bundle as the sidecar image (one CLI, every component); only the default command differs.

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY cli cli
COPY injector injector
COPY sidecar sidecar
COPY webhooks webhooks
COPY scripts/build.ts scripts/build.ts
RUN node scripts/build.ts dist/podgate.mjs

FROM gcr.io/distroless/nodejs24-debian12:nonroot
ENV PATH=/nodejs/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_ENV=production
WORKDIR /app
# The bundle (dist/podgate.mjs and the chunks it loads) keeps the repository's layout:
# cli/version.ts reads ../package.json from dist/.
COPY --from=build /src/package.json /app/package.json
COPY --from=build /src/dist/ /app/dist/
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/podgate.mjs"]
CMD ["webhook"]
