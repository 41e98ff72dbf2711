// Package configs holds the example configuration files. The routing rules
// are also built into the binary, so `dargah serve` works from any directory.
package configs

import _ "embed"

// Routing is configs/routing.yaml as it was when the binary was built.
//
//go:embed routing.yaml
var Routing []byte
