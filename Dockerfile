# Multi-stage build: the web assets with node, a static binary with Go that
# embeds them, and a small non-root final image. The operations work
# (health check, deployment notes) comes with the self-hosting issue.
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

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /cowrite /cowrite
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/cowrite"]
CMD ["serve", "--data", "/data"]
