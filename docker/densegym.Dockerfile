# densegym/densegym:latest: the whole library (the [train] extra: torch CPU, transformers), so that
#   docker run --rm densegym/densegym:latest densegym demo
# works. Built by `bash docker/build.sh --library` with the repository checkout as context (.dockerignore
# leaves out .venv, runs, build, .git and caches, but keeps build/docker-wheels) and --network host: this
# build alone downloads Python packages from PyPI (see docker/README.md).
ARG BASE=densegym/base:bookworm
FROM ${BASE}
# A Python with pip: the Debian base has none (python3-venv brings ensurepip); python:3.11-slim has it already
RUN python3 -m ensurepip --version >/dev/null 2>&1 || { apt-get update \
      && apt-get install -y --no-install-recommends python3-venv \
      && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin; }
RUN python3 -m venv /opt/densegym
ENV PATH=/opt/densegym/bin:$PATH PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 LANG=C.UTF-8
# torch: the CPU wheel build.sh put into build/docker-wheels when this machine had one (find-links prefers
# 2.13.0+cpu), else PyPI's torch==2.13.0
COPY build/docker-wheels/ /tmp/wheels/
RUN pip install --find-links /tmp/wheels torch==2.13.0 && rm -rf /tmp/wheels
COPY pyproject.toml README.md /src/densegym/
COPY densegym /src/densegym/densegym
RUN pip install "/src/densegym[train]" && rm -rf /src/densegym/build
WORKDIR /work
CMD ["densegym", "--help"]
