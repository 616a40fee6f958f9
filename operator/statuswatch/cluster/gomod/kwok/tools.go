//go:build tools

// Package tools pins KWOK, which fakes nodes and pod lifecycles for statuswatch's local control plane.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
