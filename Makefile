# Cowrite's build. `make run` starts the server; `make test` runs every test
# CI runs. Both install what they need (the npm packages under web/).

GO ?= go

.PHONY: run build test test-go lint npm bench fuzz clean

run: build
	./cowrite serve

build: npm
	$(GO) build -o cowrite .

npm: web/node_modules/.package-lock.json

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

test: lint npm
	COWRITE_STRICT=1 $(GO) test -race -count=1 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './web/node_modules/*')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./ot ./doc

clean:
	rm -f cowrite
