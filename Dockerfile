# Switchyard image: one binary, every stage. Build: docker build -t switchyard .
# Stage processes are chosen by the command (see docker-compose.yml).
FROM swift:6.1-bookworm AS build
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends libzmq3-dev libopenblas-dev pkg-config python3 python3-pip unzip \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
COPY Benchmarks ./Benchmarks
RUN swift build -c release --product switchyard --static-swift-stdlib
COPY scripts ./scripts
RUN bash scripts/fetch-minilm.sh /opt/switchyard/models/all-MiniLM-L6-v2

FROM debian:bookworm-slim
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends libzmq5 libopenblas0-pthread ca-certificates libcurl4 libxml2 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/.build/release/switchyard /usr/local/bin/switchyard
COPY --from=build /opt/switchyard/models /opt/switchyard/models
WORKDIR /work
ENTRYPOINT ["switchyard"]
CMD ["--help"]
