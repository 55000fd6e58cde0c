# syntax=docker/dockerfile:1
# The iptables init container (`podgate-capture`, injector/container.ts): runs `sh -c <script>`
# with iptables (and ip6tables where the node has IPv6) to redirect the app's port to the sidecar.
# The distroless sidecar image has neither a shell nor iptables, so capture has its own small image,
# which the cluster settings' `captureImage` names.
# Build from the repository root:
#   docker build -f images/capture.Dockerfile -t ghcr.io/podgate/podgate-capture:0.1.0 .
# It runs as root, which iptables needs, with NET_ADMIN and NET_RAW only, and exits before the app starts.

FROM alpine:3.22
RUN apk add --no-cache iptables ip6tables
USER 0:0
CMD ["sh"]
