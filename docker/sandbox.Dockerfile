# densegym/sandbox:1: the image episodes run in (one container per episode; per-project images are built
# FROM it). Built by docker/build.sh with --network none: nothing here downloads anything.
ARG BASE=densegym/base:bookworm
FROM ${BASE}
RUN groupadd -g 1000 agent \
 && useradd -u 1000 -g 1000 -m -d /home/agent -s /bin/bash agent \
 && mkdir -p /workspace /repo \
 && chown 1000:1000 /workspace \
 && chown root:root /repo && chmod 755 /repo
WORKDIR /workspace
ENV PYTHONDONTWRITEBYTECODE=1 LANG=C.UTF-8
