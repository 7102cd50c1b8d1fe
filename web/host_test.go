package web

import "testing"

func TestHostAllowed(t *testing.T) {
	allowed := map[string]bool{"docs.lan": true}
	for host, want := range map[string]bool{
		"127.0.0.1:8080":         true,
		"127.0.0.1":              true,
		"[::1]:8080":             true,
		"192.168.1.20:8080":      true,
		"localhost:8080":         true,
		"LOCALHOST":              true,
		"localhost.:8080":        true,
		"app.localhost:8080":     true,
		"docs.lan:8080":          true,
		"DOCS.LAN":               true,
		"evil.example:8080":      false,
		"localhost.evil.example": false,
		"docs.lan.evil.example":  false,
		"":                       false,
	} {
		if got := hostAllowed(host, allowed); got != want {
			t.Errorf("hostAllowed(%q) = %v, want %v", host, got, want)
		}
	}
}
