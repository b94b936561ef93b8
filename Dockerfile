# The static probe binary alone in an empty image, for `COPY --from=` into other images:
#   COPY --from=probe /probe /usr/local/bin/probe
# For linux/amd64 and linux/arm64 alike: `docker buildx build --platform linux/amd64,linux/arm64`.
# The build stage runs on the build machine's own platform and cross-compiles for TARGETARCH with
# scripts/release, the script .ci/run builds and tests the release binaries with: the same
# compiler (Debian's Rust 1.96, which the script installs with apt-get), flags and bytes, glibc
# linked statically, so the binary needs no libraries and runs in `FROM scratch`.
FROM --platform=$BUILDPLATFORM debian:bookworm AS build
ARG TARGETARCH
WORKDIR /src
COPY . .
# The drop-in names (grpc_health_probe, wait-for-it, pg_isready) are links to probe, at / and in
# /bin, where manifests call them: `["/bin/grpc_health_probe", "-addr=:50051"]`.
RUN scripts/release --arch "$TARGETARCH" /dist \
 && mkdir -p /image/bin \
 && cp "/dist/probe-linux-$TARGETARCH" /image/probe \
 && for name in grpc_health_probe wait-for-it pg_isready; do \
      ln -s probe "/image/$name" && ln -s ../probe "/image/bin/$name"; \
    done

FROM scratch
COPY --from=build /image/ /
ENTRYPOINT ["/probe"]
