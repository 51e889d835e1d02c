# syntax=docker/dockerfile:1
# The production replica image (docs/runbook.md "Container image"):
#   podman build -t vcr/replica:0.1.0 .
# Multi-stage: `deps` installs the runtime npm packages from the lockfile
# (npm ci --omit=dev, native modules compiled there), `build` compiles the
# replica to one JavaScript file (apps/replica/scripts/build.mjs), and the
# final stage holds only Node, those packages and that file: no compiler, no
# TypeScript, no sources. It runs as user 10001 and needs no writable path
# but the data volume, so run it with a read-only root file system:
#   podman run --read-only -v vcr-data:/var/lib/vcr -v ./etc:/etc/vcr:ro \
#     -e VCR_KEY_PASSPHRASE_FILE=/etc/vcr/passphrase -p 7001:7001 vcr/replica:0.1.0
#
# NODE_IMAGE is any Debian bookworm image with Node 20.19+ and npm at
# /usr/bin (docker.io/library/node:20-bookworm-slim, or one made from Debian
# packages by ops/image/base-from-debian.sh where no registry can be pulled from).
ARG NODE_IMAGE=docker.io/library/node:20-bookworm-slim

# The same manifests for both install stages: npm ci checks the lockfile against every workspace's.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /opt/vcr
COPY package.json package-lock.json ./
COPY packages/client-sdk/package.json packages/client-sdk/
COPY packages/consensus/package.json packages/consensus/
COPY packages/crypto-node/package.json packages/crypto-node/
COPY packages/proofs/package.json packages/proofs/
COPY packages/registry/package.json packages/registry/
COPY apps/console/package.json apps/console/
COPY apps/replica/package.json apps/replica/

# Runtime packages only, from the lockfile. better-sqlite3 and pkcs11js compile
# from source here (their prebuilt download needs GitHub).
FROM manifests AS deps
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# Where node-gyp finds Node's headers when it cannot download them (/usr for a
# Debian-packaged Node, /usr/local in the official image); empty: download.
ARG NODE_GYP_NODEDIR=
# Behind a TLS-inspecting proxy, pass its CA bundle as a build secret
# (--secret id=npm-ca,src=/etc/ssl/certs/ca-certificates.crt): used for this
# step only, never stored in a layer.
RUN --mount=type=secret,id=npm-ca \
    if [ -s /run/secrets/npm-ca ]; then export NPM_CONFIG_CAFILE=/run/secrets/npm-ca; fi; \
    if [ -n "$NODE_GYP_NODEDIR" ]; then export npm_config_nodedir="$NODE_GYP_NODEDIR"; fi; \
    npm ci --omit=dev -w @vcr/replica --no-audit --no-fund \
 # Workspace links point at sources the final image does not hold: the bundle has that code compiled in.
 && rm -rf node_modules/@vcr

# The bundle: dev dependencies (esbuild) without install scripts, since
# bundling loads no native module; then the workspace sources.
FROM manifests AS build
RUN --mount=type=secret,id=npm-ca \
    if [ -s /run/secrets/npm-ca ]; then export NPM_CONFIG_CAFILE=/run/secrets/npm-ca; fi; \
    npm ci -w @vcr/replica --ignore-scripts --no-audit --no-fund
COPY packages/ packages/
COPY apps/replica/ apps/replica/
RUN node apps/replica/scripts/build.mjs

FROM ${NODE_IMAGE} AS runtime
# Debian's useradd; no shell, no home directory outside the data volume.
RUN groupadd --system --gid 10001 vcr \
 && useradd --system --uid 10001 --gid vcr --home-dir /var/lib/vcr --no-create-home --shell /usr/sbin/nologin vcr \
 && install -d -o vcr -g vcr -m 0700 /var/lib/vcr \
 && install -d -o root -g vcr -m 0750 /etc/vcr
WORKDIR /opt/vcr
COPY --from=deps /opt/vcr/package.json ./
COPY --from=deps /opt/vcr/node_modules/ node_modules/
COPY --from=build /opt/vcr/apps/replica/package.json /opt/vcr/apps/replica/openapi.yaml apps/replica/
COPY --from=build /opt/vcr/apps/replica/dist/ apps/replica/dist/
ENV NODE_ENV=production
# The only writable place: SQLite data and the signer journal (config dataDir: /var/lib/vcr).
VOLUME ["/var/lib/vcr"]
USER 10001:10001
EXPOSE 7001
ENTRYPOINT ["node", "/opt/vcr/apps/replica/dist/replica.mjs"]
CMD ["--config", "/etc/vcr/config.json"]
