# flux-sidecar: the REST sidecar for a Flux Operator MiniCluster.
#
#   make image                      # or: docker build -t flux-sidecar:0.1.0 .
#   docker build --build-arg FLUX_IMAGE=fluxrm/flux-core:noble-v0.88.0 -t flux-sidecar:0.1.0 .
#
# The broker runs the Flux of the operator's view image; the sidecar talks to it
# with the Flux Python bindings of FLUX_IMAGE. Pick the fluxrm/flux-core release
# closest to the broker's `flux version` (README, "Deploy on Kubernetes").
# Only released, versioned tags: a moving tag would change the bindings under
# an unchanged sidecar tag.
ARG FLUX_IMAGE=fluxrm/flux-core:noble-v0.88.0

# --- build: a virtual environment beside (not inside) the system Python -------
FROM ${FLUX_IMAGE} AS build

# The Flux images end as an unprivileged user; installing needs root, and this
# stage is thrown away (the runtime stage sets its own USER).
# hadolint ignore=DL3002
USER 0
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# The Flux images ship Python without venv/ensurepip; the version comes with the
# pinned base image's distribution, so pinning it again here would only break
# the build when that distribution publishes a security update.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-venv \
 && rm -rf /var/lib/apt/lists/*

# /opt/flux-sidecar, not /opt/software, /mnt/flux, /flux_operator or
# /home/flux-operator: the operator mounts volumes over those in every container.
# --system-site-packages: the bindings import cffi, yaml and ply as the Flux
# image installed them; the .pth names the bindings' directory (`--get-path`
# since flux-core 0.83; before it, the directory `import flux` finds).
ENV VIRTUAL_ENV=/opt/flux-sidecar/venv
RUN python3 -m venv --system-site-packages "$VIRTUAL_ENV" \
 && purelib="$("$VIRTUAL_ENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" \
 && { flux python --get-path 2>/dev/null \
      || flux python -c 'import flux, os; print(os.path.dirname(os.path.dirname(flux.__file__)))'; \
    } > "$purelib/flux-bindings.pth" \
 && "$VIRTUAL_ENV/bin/python" -c 'import flux'

WORKDIR /src

# Dependencies first, in their own layer: a source change does not reinstall them.
# (tomllib: the base image needs Python 3.11 or newer, as noble and bookworm have.)
COPY pyproject.toml ./
RUN "$VIRTUAL_ENV/bin/python" -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' > requirements.txt \
 && "$VIRTUAL_ENV/bin/pip" install --no-cache-dir --disable-pip-version-check -r requirements.txt

COPY README.md ./
COPY sidecar ./sidecar
RUN "$VIRTUAL_ENV/bin/pip" install --no-cache-dir --disable-pip-version-check --no-deps . \
 && "$VIRTUAL_ENV/bin/python" -c 'import flux, sidecar.cli'

# --- runtime: the same Flux image, so the venv's interpreter and bindings match --
FROM ${FLUX_IMAGE}

ARG FLUX_IMAGE
ARG VERSION=0.1.0
# The uid that owns the Flux instance: submitting and stopping the broker are
# owner-only (Flux checks the peer uid on the socket). The operator's default
# broker runs as root (uid 0); set SIDECAR_USER (and the chart's
# sidecar.securityContext.runAsUser) to the broker's uid when it runs as another.
ARG SIDECAR_USER=0

LABEL org.opencontainers.image.title="flux-sidecar" \
      org.opencontainers.image.description="REST API, Prometheus metrics and clean shutdown for a Flux Operator MiniCluster" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/flux-framework/flux-operator" \
      org.opencontainers.image.base.name="${FLUX_IMAGE}"

COPY --from=build /opt/flux-sidecar /opt/flux-sidecar

# Nothing writes bytecode at run time: the chart mounts the root filesystem read-only.
ENV PATH=/opt/flux-sidecar/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

WORKDIR /opt/flux-sidecar
USER ${SIDECAR_USER}
EXPOSE 5000

# Exec form: the server is PID 1 and receives SIGTERM itself.
ENTRYPOINT ["flux-sidecar", "serve"]
