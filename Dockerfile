# Build stage: compile the hookline binary.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bin hookline

# Run stage: the binary alone on a slim base, as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system hookline
COPY --from=build /src/target/release/hookline /usr/local/bin/hookline
USER hookline
EXPOSE 8080
ENTRYPOINT ["hookline"]
CMD ["serve"]
