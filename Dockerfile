# The static probe binary alone in an empty image, for `COPY --from=` into other images:
#   COPY --from=probe /probe /usr/local/bin/probe
# Built exactly as `cargo build --release` builds it here: .cargo/config.toml links glibc
# statically (+crt-static), so the binary needs no libraries and runs in `FROM scratch`.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked \
 && cp target/x86_64-unknown-linux-gnu/release/probe /probe

FROM scratch
COPY --from=build /probe /probe
ENTRYPOINT ["/probe"]
