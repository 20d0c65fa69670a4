# densegym/densegym:latest: the library with the extras a plain container can run (train with the CPU
# torch, sql, search, openai; ARG EXTRAS below), so that
#   docker run --rm densegym/densegym:latest densegym demo
# works. Built by `bash docker/build.sh --library` with the repository checkout as context (.dockerignore
# leaves out .venv, runs, build, .git and caches, but keeps build/docker-pip) and --network host: this build
# alone downloads Python packages from PyPI (see docker/README.md).
ARG BASE=densegym/base:bookworm

# Stage 1: a venv with everything, built where pip and the downloads may live
FROM ${BASE} AS build
# A Python with pip: the Debian base has none (python3-venv brings ensurepip); python:3.11-slim has it already
RUN python3 -m ensurepip --version >/dev/null 2>&1 || { apt-get update \
      && apt-get install -y --no-install-recommends python3-venv \
      && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin; }
RUN python3 -m venv /opt/densegym
ENV PATH=/opt/densegym/bin:$PATH PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# build/docker-pip (filled by build.sh): the torch CPU wheel the host's pip found (find-links prefers
# 2.13.0+cpu; without it PyPI's torch==2.13.0), and host-ca.crt, the CA bundle the host's pip trusts (a
# machine whose HTTPS goes through an intercepting proxy); neither reaches the final image
COPY build/docker-pip/ /tmp/pip/
RUN if [ -s /tmp/pip/host-ca.crt ]; then export PIP_CERT=/tmp/pip/host-ca.crt; fi \
 && pip install --find-links /tmp/pip torch==2.13.0
COPY pyproject.toml README.md /src/densegym/
COPY densegym /src/densegym/densegym
# The extras: what runs in a plain container. Left out: web (needs a Chromium), lsp (its executor needs
# bubblewrap, which needs privileges in a container), search-dense, ray and vllm (large); add them with
# docker rmi densegym/densegym:latest; DENSEGYM_LIBRARY_EXTRAS=... bash docker/build.sh --library
ARG EXTRAS=train,sql,search,openai
RUN if [ -s /tmp/pip/host-ca.crt ]; then export PIP_CERT=/tmp/pip/host-ca.crt; fi \
 && pip install --find-links /tmp/pip "/src/densegym[$EXTRAS]"

# Stage 2: the base and the venv (same base, same /usr/bin/python3: the venv works where it was made)
FROM ${BASE}
COPY --from=build /opt/densegym /opt/densegym
ENV PATH=/opt/densegym/bin:$PATH PYTHONDONTWRITEBYTECODE=1 LANG=C.UTF-8
WORKDIR /work
CMD ["densegym", "--help"]
