//go:build tools

// Package tools pins the kubelet that statuswatch builds for its real node.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kubelet"
)
