package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressBar returns a runner progress callback that redraws one line on
// w; the last call clears it.
func progressBar(w io.Writer) func(done, total int, what string) {
	return func(done, total int, what string) {
		if done >= total {
			fmt.Fprint(w, "\r\033[K")
			return
		}
		const width = 24
		fill := width * done / max(total, 1)
		fmt.Fprintf(w, "\r\033[K[%s%s] %d/%d %s", strings.Repeat("#", fill), strings.Repeat(".", width-fill), done+1, total, what)
	}
}
