# syntax=docker/dockerfile:1
#
# The Landlord operator: `landlord operator`, as the Helm chart runs it (read-only root filesystem, a
# writable /tmp, non-root uid 1000).
#
#   docker build -t landlord:dev .                        # with the Pulumi CLI (database/account tiers)
#   docker build -t landlord:dev --build-arg PULUMI=none . # plan provisioner only: no Go build, faster
#
# The sources are compiled in the build (`npm run build`, tsc) and run with plain node: tsx compiling
# TypeScript in the process costs each replica about 75 MiB. The same sources the tests ran, compiled
# from this very build context, so nothing can drift; `bin/landlord.mjs` (tsx) stays for clones.

ARG NODE_IMAGE=node:20-bookworm-slim
ARG GO_IMAGE=golang:1.26-bookworm
# "pulumi" builds the Pulumi CLI from its Go module (tools/pulumi, as `landlord local build` does);
# "none" leaves it out, and --provisioner=pulumi then fails at its first use with a clear error.
ARG PULUMI=pulumi

# Production dependencies only, from the lockfile. Type declarations and source maps are not read at
# run time; dropping them takes about a third off node_modules (mostly @pulumi/aws).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \) -delete

# The compiled operator (dev dependencies for tsc only; nothing of this stage but dist/ is kept).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY operator/src ./operator/src
COPY pulumi ./pulumi
RUN npm run build

# The Pulumi CLI, built like the tests build it: the version is read from the wrapper go.mod (the one
# place it is pinned) and stamped into the binary.
FROM ${GO_IMAGE} AS pulumi-pulumi
WORKDIR /src
COPY tools/pulumi/go.mod tools/pulumi/go.sum ./
RUN version="$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" { print $2 }' go.mod)" \
 && test -n "$version" \
 && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod go build -trimpath -tags osusergo,grpcnotrace \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${version}" \
      -o /opt/pulumi/bin/pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi

FROM ${NODE_IMAGE} AS pulumi-none
RUN mkdir -p /opt/pulumi/bin

FROM pulumi-${PULUMI} AS pulumi

FROM ${NODE_IMAGE}
# LANDLORD_PULUMI_ROOT: the operator uses the prebuilt Pulumi there instead of building one (no Go
# in this image). HOME, PULUMI_HOME: caches go to the writable /tmp (the chart mounts an emptyDir).
ENV NODE_ENV=production \
    LANDLORD_PULUMI_ROOT=/opt/pulumi \
    HOME=/tmp \
    PULUMI_HOME=/tmp/.pulumi
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# Everything else the runtime needs; .dockerignore admits only package.json, package-lock.json, bin/,
# operator/src/, pulumi/ and crds/ into the build context.
COPY . .
COPY --from=build /app/dist ./dist
COPY --from=pulumi /opt/pulumi /opt/pulumi
# The dynamic-provider launcher Pulumi's release archives ship next to the CLI, written by the same
# code that writes it for local builds (operator/src/local/pulumiTool.ts).
RUN if [ -x /opt/pulumi/bin/pulumi ]; then \
      node --input-type=module \
        -e 'const { writeNodejsLauncher } = await import("/app/dist/operator/src/local/pulumiTool.js"); writeNodejsLauncher("/opt/pulumi");'; \
    fi
USER 1000:1000
EXPOSE 8080 8081
# --expose-gc from the start: the idle collection after a burst of reconciles needs V8's gc().
ENTRYPOINT ["node", "--expose-gc", "dist/operator/src/cli/run.js"]
CMD ["operator"]
