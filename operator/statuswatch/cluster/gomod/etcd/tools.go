//go:build tools

// Package tools pins the etcd server that statuswatch builds for its local control plane.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)
