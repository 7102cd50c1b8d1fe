package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// healthcheck asks a running server whether it is ready, for container
// health checks in images that have no curl: it GETs --url (by default
// /readyz at serve's --addr, or COWRITE_ADDR) and returns nil only for a
// 2xx answer. It follows no redirects and goes through no proxy.
func healthcheck(args []string) error {
	u, timeout, err := parseHealthcheck(args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := checkReady(ctx, u); err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	return nil
}

// parseHealthcheck returns the URL that healthcheck asks and how long it
// waits. An --addr not given on the command line comes from COWRITE_ADDR,
// as for serve, so that a container configured by environment is checked
// where it listens.
func parseHealthcheck(args []string) (u string, timeout time.Duration, err error) {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	addr := fs.String("addr", ":8080", "address the server listens on, as serve's --addr (also COWRITE_ADDR); an address without a host, or 0.0.0.0 or ::, is asked on loopback")
	fs.StringVar(&u, "url", "", "URL to GET; default: http://ADDR/readyz from --addr")
	fs.DurationVar(&timeout, "timeout", 3*time.Second, "how long the whole check may take")
	if err := fs.Parse(args); err != nil {
		return "", 0, err
	}
	if fs.NArg() > 0 {
		return "", 0, fmt.Errorf("healthcheck: unexpected argument %q", fs.Arg(0))
	}
	if timeout <= 0 {
		return "", 0, errors.New("healthcheck: --timeout must be positive")
	}
	if u != "" {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return "", 0, fmt.Errorf("healthcheck: --url %q: want an http or https URL", u)
		}
		return u, timeout, nil
	}
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "addr" })
	if v, ok := os.LookupEnv("COWRITE_ADDR"); ok && !given {
		*addr = v
	}
	host, port, err := net.SplitHostPort(*addr)
	if err != nil {
		return "", 0, fmt.Errorf("healthcheck: address %q: %w", *addr, err)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", timeout, nil
}

// checkReady GETs u and returns nil for a 2xx answer; otherwise an error
// that says in one line what came back, or why nothing did.
func checkReady(ctx context.Context, u string) error {
	client := &http.Client{
		// A health check talks to the server itself: no proxy from the
		// environment, no connection kept for later.
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	msg := fmt.Sprintf("GET %s: %s", u, resp.Status)
	if loc := resp.Header.Get("Location"); loc != "" {
		return fmt.Errorf("%s: redirect to %s refused", msg, loc)
	}
	if why := reason(body); why != "" {
		msg += ": " + why
	}
	return errors.New(msg)
}

// reason returns the gist of an error body on one line: the code and
// message of the server's JSON errors, else the text, shortened.
func reason(body []byte) string {
	if code, message := jsonError(body); code != "" {
		return code + ": " + message
	}
	s := strings.Join(strings.Fields(string(body)), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "..."
	}
	return s
}

// jsonError returns the code and message of the server's JSON error
// answer, {"error": {"code": ..., "message": ...}}; code is "" when body
// is not one.
func jsonError(body []byte) (code, message string) {
	var e struct {
		Error struct{ Code, Message string }
	}
	if json.Unmarshal(body, &e) != nil {
		return "", ""
	}
	return e.Error.Code, e.Error.Message
}
