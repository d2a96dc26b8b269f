// The pod sandbox ("pause") process the local node's containerd starts for every pod: it holds the
// pod's namespaces and does nothing else. Built here because registry.k8s.io/pause cannot be pulled
// on machines that reach only package registries; it behaves like the upstream one (reaps
// orphaned children as PID 1, exits on SIGINT/SIGTERM).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		// PID 1 in a shared PID namespace inherits orphans: collect them so none stays a zombie.
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
