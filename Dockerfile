# The static probe binary alone in an empty image, for `COPY --from=` into other images:
#   COPY --from=probe /probe /usr/local/bin/probe
# Built exactly as `cargo build --release` builds it here: .cargo/config.toml links glibc
# statically (+crt-static), so the binary needs no libraries and runs in `FROM scratch`.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The drop-in names (grpc_health_probe, wait-for-it, pg_isready) are links to probe, at / and in
# /bin, where manifests call them: `["/bin/grpc_health_probe", "-addr=:50051"]`.
RUN cargo build --release --locked \
 && mkdir -p /image/bin \
 && cp target/x86_64-unknown-linux-gnu/release/probe /image/probe \
 && for name in grpc_health_probe wait-for-it pg_isready; do \
      ln -s probe "/image/$name" && ln -s ../probe "/image/bin/$name"; \
    done

FROM scratch
COPY --from=build /image/ /
ENTRYPOINT ["/probe"]
