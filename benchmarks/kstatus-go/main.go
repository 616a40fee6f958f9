// Command kstatus-poller is the benchmark's Go peer: the real kstatus polling engine from
// sigs.k8s.io/cli-utils, set up the way Flux's kustomize-controller runs its health checks (a
// controller-runtime client, the default caching cluster reader, a 5 s poll interval).
//
// It reads identifiers as JSON ([{"group","kind","namespace","name"}, ...]) from the file given with -ids,
// polls them until it is killed, and prints one JSON line per event on stdout: every ResourceUpdateEvent
// (identifier and status), the first moment every identifier has a status ("synced"), and the aggregate
// whenever it changes. The Python benchmark counts its API requests at the API server, not here.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/cli-utils/pkg/kstatus/polling"
	"sigs.k8s.io/cli-utils/pkg/kstatus/polling/aggregator"
	"sigs.k8s.io/cli-utils/pkg/kstatus/polling/event"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/cli-utils/pkg/object"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

type identifier struct {
	Group     string `json:"group"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

type line struct {
	Time      float64 `json:"t"`
	Type      string  `json:"type"`
	Namespace string  `json:"namespace,omitempty"`
	Kind      string  `json:"kind,omitempty"`
	Name      string  `json:"name,omitempty"`
	Status    string  `json:"status,omitempty"`
	Message   string  `json:"message,omitempty"`
	Count     int     `json:"count,omitempty"`
}

func emit(out *json.Encoder, l line) {
	l.Time = float64(time.Now().UnixNano()) / 1e9
	if err := out.Encode(l); err != nil {
		fmt.Fprintln(os.Stderr, "writing stdout:", err)
		os.Exit(1)
	}
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file")
	idsFile := flag.String("ids", "", "JSON file of identifiers")
	interval := flag.Duration("interval", 5*time.Second, "poll interval (Flux: 5s)")
	flag.Parse()
	if err := run(*kubeconfig, *idsFile, *interval); err != nil {
		fmt.Fprintln(os.Stderr, "kstatus-poller:", err)
		os.Exit(1)
	}
}

func run(kubeconfig, idsFile string, interval time.Duration) error {
	raw, err := os.ReadFile(idsFile)
	if err != nil {
		return err
	}
	var ids []identifier
	if err := json.Unmarshal(raw, &ids); err != nil {
		return fmt.Errorf("%s: %w", idsFile, err)
	}
	set := make(object.ObjMetadataSet, 0, len(ids))
	for _, id := range ids {
		set = append(set, object.ObjMetadata{
			GroupKind: schema.GroupKind{Group: id.Group, Kind: id.Kind},
			Namespace: id.Namespace,
			Name:      id.Name,
		})
	}
	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	// Flux's clients are not rate limited by client-go's default 5 QPS either.
	config.QPS, config.Burst = 100, 200
	config.UserAgent = "kstatus-poller-benchmark"
	dc, err := discovery.NewDiscoveryClientForConfig(config)
	if err != nil {
		return err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	reader, err := client.New(config, client.Options{Mapper: mapper})
	if err != nil {
		return err
	}
	poller := polling.NewStatusPoller(reader, mapper, polling.Options{})

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out := json.NewEncoder(os.Stdout)
	emit(out, line{Type: "start", Count: len(set)})
	latest := make(map[object.ObjMetadata]*event.ResourceStatus, len(set))
	synced := false
	aggregate := status.Status("")
	for ev := range poller.Poll(ctx, set, polling.PollOptions{PollInterval: interval}) {
		switch ev.Type {
		case event.ErrorEvent:
			emit(out, line{Type: "error", Message: ev.Error.Error()})
		case event.ResourceUpdateEvent:
			rs := ev.Resource
			latest[rs.Identifier] = rs
			emit(out, line{
				Type: "update", Namespace: rs.Identifier.Namespace, Kind: rs.Identifier.GroupKind.Kind,
				Name: rs.Identifier.Name, Status: rs.Status.String(), Message: rs.Message,
			})
			if !synced && len(latest) == len(set) {
				synced = true
				emit(out, line{Type: "synced", Count: len(latest)})
			}
			all := make([]*event.ResourceStatus, 0, len(latest))
			for _, s := range latest {
				all = append(all, s)
			}
			if synced {
				if now := aggregator.AggregateStatus(all, status.CurrentStatus); now != aggregate {
					aggregate = now
					emit(out, line{Type: "aggregate", Status: now.String(), Count: len(all)})
				}
			}
		}
	}
	emit(out, line{Type: "stop"})
	return nil
}
