# Cowrite's build. `make run` starts the server; `make test` runs every test
# CI runs. Both install what they need (the npm packages under web/).

GO ?= go

.PHONY: run build test test-go test-web lint npm assets typecheck bench fuzz clean

run: build
	./cowrite serve

build: assets
	$(GO) build -o cowrite .

npm: web/node_modules/.package-lock.json

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

# assets bundles the editor, the embeds and the service worker from web/src
# into web/dist, which the binary embeds (go:embed); web/dist is not
# committed. Rebuilt when a source changes.
assets: web/dist/manifest.json

web/dist/manifest.json: web/node_modules/.package-lock.json web/build.mjs $(shell find web/src -type f 2>/dev/null)
	cd web && node build.mjs

# typecheck checks every TypeScript source under web/: the pages, the
# client library, and the client library's tests (web/test).
typecheck: npm
	cd web && npx tsc --noEmit -p . && npx tsc --noEmit -p test

test: lint typecheck assets test-web
	COWRITE_STRICT=1 $(GO) test -race -count=1 ./...

# test-web runs the client library's unit tests (node's test runner).
test-web: npm
	cd web && npm test

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './web/node_modules/*')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./ot ./doc

clean:
	rm -f cowrite
	find web/dist -mindepth 1 -not -name .gitkeep -delete
