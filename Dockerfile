# syntax=docker/dockerfile:1
# vm-apiserver: a static binary on a distroless, non-root base.
#
#   docker build --build-arg VERSION=v0.1.0 -t ghcr.io/vm-apiserver/vm-apiserver:v0.1.0 .

# Build on the platform of the builder and cross-compile: no emulation needed.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=v0.0.0-dev
ARG GIT_COMMIT=unknown
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
# Only what the binary is built from; test/ and the caches stay out.
COPY cmd/ cmd/
COPY pkg/ pkg/
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath \
      -ldflags "-s -w \
        -X k8s.io/component-base/version.gitVersion=${VERSION} \
        -X k8s.io/component-base/version.gitCommit=${GIT_COMMIT} \
        -X k8s.io/component-base/version.gitTreeState=clean" \
      -o /out/vm-apiserver ./cmd/vm-apiserver

# static: no shell, no libc; nonroot: UID/GID 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/vm-apiserver /usr/local/bin/vm-apiserver
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["/usr/local/bin/vm-apiserver"]
