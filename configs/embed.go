// Package configs holds the example configuration files. The routing rules
// are also built into the binary, so `dargah serve` works from any directory.
package configs

import _ "embed"

// Routing is configs/routing.yaml as it was when the binary was built.
//
//go:embed routing.yaml
var Routing []byte

// Org is configs/org.yaml (the organization, cases/org) as built.
//
//go:embed org.yaml
var Org []byte

// Escalation is configs/escalation.yaml (the ladder, cases/escalation) as built.
//
//go:embed escalation.yaml
var Escalation []byte
