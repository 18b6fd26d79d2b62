# logtriage in a container: for servers where the logs live in containers
# or volumes and no Rust toolchain is wanted. See README, "Install".
#
#   docker build -t logtriage .
#   docker run --rm -v ~/.pm2/logs:/logs:ro logtriage scan /logs
#
# Stage 1 builds the release binary with the official Rust image; stage 2
# is a slim Debian with only that binary (the rule packs are inside it).
# Both stages are Debian bookworm, so the binary finds the glibc it was
# linked against.

FROM rust:1-slim-bookworm AS build
WORKDIR /src
# The crate as `cargo package` ships it (.dockerignore leaves out the
# recorded fixtures, the lab and build output): sources, rule packs, and
# the test, bench and example files its manifest names.
COPY . .
RUN cargo build --release --locked

FROM debian:bookworm-slim
COPY --from=build /src/target/release/logtriage /usr/local/bin/logtriage
# Reading logs needs no privileges: run as nobody, and mount the logs
# read-only (`-v DIR:/logs:ro`).
USER nobody
WORKDIR /logs
ENTRYPOINT ["logtriage"]
CMD ["--help"]
