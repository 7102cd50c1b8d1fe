// Command cowrite is the Cowrite server: real-time collaborative rich-text
// editing in one binary.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "cowrite:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "serve":
		return fmt.Errorf("serve: the server is not built yet; this build holds the OT engine and the document model")
	case "version":
		fmt.Println("cowrite (development)")
		return nil
	}
	return fmt.Errorf("unknown command %q (commands: serve, version)", cmd)
}
