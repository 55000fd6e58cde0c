# syntax=docker/dockerfile:1
# The podgate sidecar: the gateway the injector puts in every pod, run as `args: ["sidecar"]`.
# Build from the repository root:
#   docker build -f images/sidecar.Dockerfile -t ghcr.io/podgate/podgate:0.1.0 .
# The esbuild bundle on a distroless Node 24: no shell, no package manager, no node_modules.

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: nothing the bundle needs runs an install script (esbuild finds its binary
# through its optional platform package).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY cli cli
COPY injector injector
COPY sidecar sidecar
COPY webhooks webhooks
COPY scripts/build.ts scripts/build.ts
RUN node scripts/build.ts dist/podgate.mjs

FROM gcr.io/distroless/nodejs24-debian12:nonroot
# The non-native startup gate is a postStart `node -e ...` exec (injector/container.ts), which
# finds node through PATH; distroless keeps it in /nodejs/bin, off the default PATH.
ENV PATH=/nodejs/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_ENV=production
WORKDIR /app
# The bundle (dist/podgate.mjs and the chunks it loads) keeps the repository's layout:
# cli/version.ts reads ../package.json from dist/.
COPY --from=build /src/package.json /app/package.json
COPY --from=build /src/dist/ /app/dist/
USER 65532:65532
EXPOSE 15080 15901
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/podgate.mjs"]
CMD ["sidecar"]
