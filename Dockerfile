# Multi-stage build: the web assets with node, a static binary with Go that
# embeds them, and a final image that holds only that binary and an empty
# data directory, run as a non-root user. See "Deployment" in README.md.
FROM node:20-bookworm AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN node build.mjs

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=web /src/web/dist ./web/dist
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /cowrite .
# The final image has no shell to make directories with: the data
# directory is made here, owned by the user the server runs as. The server
# writes nowhere else (no temporary files), so there is no /tmp.
RUN mkdir -p /rootfs/data && chown 65532:65532 /rootfs/data && chmod 700 /rootfs/data

FROM scratch
COPY --from=build /cowrite /cowrite
COPY --from=build --chown=65532:65532 /rootfs/data /data
USER 65532:65532
ENV COWRITE_DATA=/data COWRITE_ADDR=:8080
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/cowrite", "healthcheck"]
ENTRYPOINT ["/cowrite"]
CMD ["serve"]
