// Command gen writes aritest/api_gen.go from the ARI description files.
//
//	go run ./gen -in ../../../../shared/asterisk-ari -out api_gen.go
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/dargah137/dargah/channels/asterisk/aritest/internal/swagger"
)

func main() {
	in := flag.String("in", "../../../../shared/asterisk-ari", "directory with resources.json")
	out := flag.String("out", "api_gen.go", "output file")
	flag.Parse()
	api, err := swagger.Load(*in)
	if err == nil {
		var src []byte
		if src, err = swagger.Render("aritest", api); err == nil {
			err = os.WriteFile(*out, src, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
