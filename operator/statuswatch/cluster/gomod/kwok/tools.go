//go:build tools

// Package tools pins KWOK, the fake kubelet, that statuswatch builds for its local control plane.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
