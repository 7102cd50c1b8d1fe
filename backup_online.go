package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/schollz/progressbar/v3"

	"github.com/cowrite/cowrite/persist"
	"github.com/cowrite/cowrite/web"
)

// adminToken returns the server admin's token for an online command: the
// content of file when given, else $COWRITE_TOKEN. The token is never
// taken from the command line, where other users of the machine see it.
func adminToken(cmd, file string) (string, error) {
	tok := os.Getenv("COWRITE_TOKEN")
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s: read token: %w", cmd, err)
		}
		tok = string(b)
	}
	if tok = strings.TrimSpace(tok); tok == "" {
		return "", fmt.Errorf("%s: --url needs a server admin's token in --token-file or $COWRITE_TOKEN (cowrite token --secret-file S --sub ops --doc '*=admin' --ttl 10m)", cmd)
	}
	return tok, nil
}

// backupOnline fetches a backup of the running server at base (GET
// /v1/admin/backup) into out, drawing the bytes received on stderr. As
// offline, the backup is written beside out and renamed once whole: the
// bytes are verified as they arrive (persist.VerifyBackup), a server that
// failed midway says so in the trailer web.BackupTrailer, and a download
// that breaks off, fails or does not verify leaves no file. With out "-" it is
// written to standard output, and only the exit status tells a failure.
func backupOnline(ctx context.Context, base, token, out string) error {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("backup: --url %q: want http://host:port or https://host", base)
	}
	u = u.JoinPath("/v1/admin/backup")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("backup: %s: %s", u, refusal(resp))
	}

	return writeBackup(out, func(w io.Writer) error {
		// The backup is checked as it arrives: its frames' checksums and
		// end frame tell a whole backup from a cut one, whatever the
		// proxies on the way do with the server's trailer.
		pr, pw := io.Pipe()
		verified := make(chan error, 1)
		go func() {
			_, err := persist.VerifyBackup(pr)
			pr.CloseWithError(err) // unblocks the copy if verification stopped early
			io.Copy(io.Discard, pr)
			verified <- err
		}()
		bar := progressbar.DefaultBytes(-1, "backup")
		n, err := io.Copy(io.MultiWriter(w, bar, pw), resp.Body)
		pw.CloseWithError(err)
		bar.Finish()
		verr := <-verified
		if status := resp.Trailer.Get(web.BackupTrailer); status != "" && status != "ok" {
			return fmt.Errorf("backup: the server failed after %d bytes (%s: %s); see its log", n, web.BackupTrailer, status)
		}
		if err != nil {
			return fmt.Errorf("backup: download broke off after %d bytes: %w", n, err)
		}
		if verr != nil {
			return fmt.Errorf("backup: the %d bytes received are not a whole backup: %w", n, verr)
		}
		return nil
	})
}

// refusal describes a response other than 200 from an admin endpoint,
// from its JSON error when it has one.
func refusal(resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	code, message := jsonError(b)
	if code == "" {
		return resp.Status
	}
	msg := fmt.Sprintf("%s: %s (%s)", resp.Status, message, code)
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		msg += "; is the token signed with the server's key, and unexpired?"
	case http.StatusNotFound:
		if code == "no_admin" {
			msg += "; a server in open mode is backed up by stopping it and running cowrite backup --data"
		}
	}
	return msg
}
