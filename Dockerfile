# The Switchyard image, from the official images: a Swift 6.3 build stage, then a slim Debian runtime
# with libzmq5, OpenBLAS, the MiniLM files, a non-root user and a healthcheck. One image runs every
# stage; the command picks the stage (see docker-compose.yml and deploy/kubernetes/).
#
#   docker build -t switchyard:latest .
#   docker build --build-arg SWIFT_IMAGE=registry.example/swift:6.3-bookworm \
#                --build-arg RUNTIME_IMAGE=registry.example/debian:bookworm-slim -t switchyard:latest .
#
# Works with the classic builder (no BuildKit features). Without a registry, `scripts/image` builds the
# same layout from a debootstrapped base and a binary built on the host (deploy/docker/Dockerfile.prebuilt).
ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
       libzmq3-dev libopenblas-dev pkg-config python3 python3-pip unzip \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# SwiftPM checks every declared target's folder, so the test and benchmark sources come along.
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
COPY Benchmarks ./Benchmarks
RUN swift build -c release --static-swift-stdlib --product switchyard \
    && install -m 0755 "$(swift build -c release --show-bin-path)/switchyard" /usr/local/bin/switchyard
COPY scripts/fetch-minilm.sh ./scripts/
RUN bash scripts/fetch-minilm.sh /opt/switchyard/models/all-MiniLM-L6-v2

FROM ${RUNTIME_IMAGE}
COPY deploy/docker/runtime-setup.sh /tmp/runtime-setup.sh
RUN sh /tmp/runtime-setup.sh && rm /tmp/runtime-setup.sh
COPY --from=build /opt/switchyard/models /opt/switchyard/models
COPY deploy/pipeline.yaml /etc/switchyard/pipeline.yaml
# The demo routing data: the artifact service learns from it, the replay backends answer from it.
COPY data/routing/zeroeval/train.jsonl data/routing/zeroeval/dev.jsonl data/routing/zeroeval/test.jsonl \
     data/routing/zeroeval/models.json /opt/switchyard/data/zeroeval/
COPY --from=build /usr/local/bin/switchyard /usr/local/bin/switchyard
ENV LANG=C.UTF-8
USER 10001:10001
WORKDIR /var/lib/switchyard
# Every stage serves Prometheus /metrics on 9464 in the deploy configuration (metrics.port).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS -o /dev/null http://127.0.0.1:9464/metrics || exit 1
# tini as PID 1 forwards SIGTERM to switchyard (a worker drains on it) and reaps children.
ENTRYPOINT ["/usr/bin/tini", "--", "switchyard"]
CMD ["--help"]
