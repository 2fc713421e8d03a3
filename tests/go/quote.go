// Command quote prints, for each case of a file, the version-conflict message of
// the Go original, so that tests/go_quote.rs can compare the Rust one with it.
//
//	go run tests/go/quote.go CASES
//
// CASES holds one JSON object per line: {"actor":"...","current":3,"attempted":2}.
// For each, in order, it prints the message's length in bytes, a newline and the
// message itself (which may contain newlines), then "end\n" after the last one.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

type testCase struct {
	Actor     string `json:"actor"`
	Current   int64  `json:"current"`
	Attempted int64  `json:"attempted"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run tests/go/quote.go CASES")
		os.Exit(2)
	}
	file, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer file.Close()
	decoder := json.NewDecoder(bufio.NewReader(file))
	out := bufio.NewWriter(os.Stdout)
	for {
		var c testCase
		if err := decoder.Decode(&c); err == io.EOF {
			break
		} else if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		message := fmt.Sprintf("version conflict: actor %q has version %d, cannot save version %d",
			c.Actor, c.Current, c.Attempted)
		fmt.Fprintf(out, "%d\n%s", len(message), message)
	}
	fmt.Fprint(out, "end\n")
	if err := out.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
