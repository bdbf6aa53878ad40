package bench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubevirtv1 "kubevirt.io/api/core/v1"
)

// ActionsConfig configures the action figures.
type ActionsConfig struct {
	// Namespace holds the VMs the methods flip.
	Namespace string
	// VMCounts are the VM set sizes, e.g. 1 and 100; the sets are nested.
	VMCounts []int
	// Concurrency are the worker counts, e.g. 1, 8 and 64.
	Concurrency []int
	// Methods are the letters to run, a subset of MethodNames.
	Methods []string
	// Warmup and Duration are those of every cell.
	Warmup, Duration time.Duration
	// EtcdPrefix is the server's --etcd-prefix, for D.
	EtcdPrefix string
	// Template is the seed VM.
	Template *kubevirtv1.VirtualMachine
	// Meter, if set, adds each process's CPU and the server's allocations
	// per flip to the cell lines.
	Meter *Meter
	// Random makes workers draw VMs at random instead of owning them.
	Random bool
	// Peer is kube-apiserver serving the VirtualMachine CRD, for P; its
	// VMs are created there with the same names and spec.
	Peer *Clients
	// PeerMeter, if set, is P's Meter: the server it samples is
	// kube-apiserver.
	PeerMeter *Meter
	// Reference is the reference vm-apiserver, for R; its VMs are created
	// there with the same names and spec.
	Reference *Clients
	// ReferenceMeter, if set, is R's Meter.
	ReferenceMeter *Meter
}

// benchVMName names the i-th VM the action cells use.
func benchVMName(i int) string { return fmt.Sprintf("bench-vm-%04d", i) }

// EnsureVMs creates the VMs bench-vm-0000 ... up to n in ns from template,
// keeping those that exist, and returns their names.
func EnsureVMs(ctx context.Context, c *Clients, template *kubevirtv1.VirtualMachine, ns string, n int) ([]string, error) {
	vms := c.VMs.KubevirtV1().VirtualMachines(ns)
	names := make([]string, n)
	for i := range n {
		names[i] = benchVMName(i)
		_, err := vms.Create(ctx, NewVM(template, ns, names[i]), metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("creating %s: %w", names[i], err)
		}
	}
	return names, nil
}

// RunActions runs every cell (VM count × concurrency × method, methods side
// by side for each pair) and prints one line per cell, then the ratio lines
// and the benchmark goals.
func RunActions(ctx context.Context, c *Clients, etcd *clientv3.Client, cfg ActionsConfig, out io.Writer) ([]CellResult, error) {
	names, err := EnsureVMs(ctx, c, cfg.Template, cfg.Namespace, maxOf(cfg.VMCounts))
	if err != nil {
		return nil, err
	}
	if cfg.Peer != nil && slices.Contains(cfg.Methods, "P") {
		if err := EnsureNamespace(ctx, cfg.Peer, cfg.Namespace); err != nil {
			return nil, err
		}
		if _, err := EnsureVMs(ctx, cfg.Peer, cfg.Template, cfg.Namespace, maxOf(cfg.VMCounts)); err != nil {
			return nil, fmt.Errorf("peer: %w", err)
		}
	}
	if cfg.Reference != nil && slices.Contains(cfg.Methods, "R") {
		if _, err := EnsureVMs(ctx, cfg.Reference, cfg.Template, cfg.Namespace, maxOf(cfg.VMCounts)); err != nil {
			return nil, fmt.Errorf("reference: %w", err)
		}
	}
	servers := Servers{Server: c, Peer: cfg.Peer, Reference: cfg.Reference}
	var results []CellResult
	for _, n := range cfg.VMCounts {
		for _, conc := range cfg.Concurrency {
			for _, name := range cfg.Methods {
				m, err := NewMethod(name, servers, etcd, cfg.EtcdPrefix, cfg.Namespace, names[:n])
				if err != nil {
					return results, err
				}
				meter := cfg.Meter
				switch name {
				case "P":
					meter = cfg.PeerMeter
				case "R":
					meter = cfg.ReferenceMeter
				}
				cell := Cell{Method: m, VMs: n, Concurrency: conc, Warmup: cfg.Warmup, Duration: cfg.Duration, Meter: meter, Random: cfg.Random}
				r, err := cell.Run(ctx)
				if err != nil {
					return results, fmt.Errorf("cell %s vms=%d c=%d: %w", name, n, conc, err)
				}
				EmitCell(out, r)
				results = append(results, r)
			}
		}
	}
	EmitRatios(out, results)
	EmitGoals(out, results)
	return results, nil
}

// EmitCell prints a cell's line.
func EmitCell(out io.Writer, r CellResult) {
	fields := []Field{
		F("method", r.Method), F("vms", r.VMs), F("c", r.Concurrency),
		F("flips/s", r.Rate()), F("p50", r.P50), F("p99", r.P99), F("max", r.Max),
		F("flips", r.Count), F("retries", r.Retries), F("errors", r.Errors),
	}
	if r.Usage != (Usage{}) {
		per := r.Usage.PerOp(r.Count)
		fields = append(fields,
			F("srv_cores", r.Usage.ServerCPU.Seconds()/r.Window.Seconds()),
			F("others_cores", r.Usage.OthersCPU().Seconds()/r.Window.Seconds()),
			F("srv_cpu/flip", per.ServerCPU), F("etcd_cpu/flip", per.EtcdCPU), F("client_cpu/flip", per.ClientCPU),
			F("srv_allocs/flip", int64(per.ServerAllocs)), F("srv_KiB/flip", per.ServerAllocBytes/1024),
			F("etcd_reads/flip", per.EtcdRanges), F("etcd_writes/flip", per.EtcdPuts), F("fsyncs/flip", per.EtcdFsyncs))
	}
	if r.FirstError != nil {
		fields = append(fields, F("first_error", fmt.Sprintf("%q", r.FirstError.Error())))
	}
	Emit(out, "action", fields...)
}

// cellKey finds a result by method, VM count and concurrency.
type cellKey struct {
	method    string
	vms, conc int
}

func index(results []CellResult) map[cellKey]CellResult {
	m := make(map[cellKey]CellResult, len(results))
	for _, r := range results {
		m[cellKey{r.Method, r.VMs, r.Concurrency}] = r
	}
	return m
}

// EmitRatios prints A/M, A/B, A/C, A/D, A/P and A/R for every VM count and
// concurrency at which both were measured: throughput, p50 and p99 ratios.
func EmitRatios(out io.Writer, results []CellResult) {
	byKey := index(results)
	for _, r := range results {
		if r.Method != "A" {
			continue
		}
		for _, peer := range []string{"M", "B", "C", "D", "P", "R"} {
			p, ok := byKey[cellKey{peer, r.VMs, r.Concurrency}]
			if !ok {
				continue
			}
			Emit(out, "ratio "+"A/"+peer, F("vms", r.VMs), F("c", r.Concurrency),
				F("flips/s", Ratio(r.Rate(), p.Rate())),
				F("p50", Ratio(float64(r.P50), float64(p.P50))),
				F("p99", Ratio(float64(r.P99), float64(p.P99))))
		}
	}
}

// goal is one benchmark target, checked on the cells with the most VMs
// (100 in the default run).
type goal struct {
	name string
	conc int
	// peer is the method compared with A, or "" for an absolute target.
	peer string
	// peerConc is the concurrency of the peer's cell, when it is not conc.
	peerConc int
	// value computes the figure from A's cell and the peer's.
	value func(a, peer CellResult) float64
	// atLeast is true for a floor, false for a ceiling.
	atLeast bool
	target  float64
}

func rateRatio(a, p CellResult) float64 { return Ratio(a.Rate(), p.Rate()) }
func p99Ratio(a, p CellResult) float64  { return Ratio(float64(a.P99), float64(p.P99)) }
func rateOfA(a, _ CellResult) float64   { return a.Rate() }

var goals = []goal{
	// Against etcd and KubeVirt's own stack.
	{name: "A/D>=0.5", conc: 8, peer: "D", value: rateRatio, atLeast: true, target: 0.5},
	{name: "A/D>=0.5", conc: 64, peer: "D", value: rateRatio, atLeast: true, target: 0.5},
	{name: "A(c=64)/A(c=8)>=1", conc: 64, peer: "A", peerConc: 8, value: rateRatio, atLeast: true, target: 1},
	{name: "p99(A)/p99(D)<=2", conc: 8, peer: "D", value: p99Ratio, target: 2},
	{name: "A/P>=4", conc: 8, peer: "P", value: rateRatio, atLeast: true, target: 4},
	{name: "A/P>=4", conc: 64, peer: "P", value: rateRatio, atLeast: true, target: 4},
	// Against the other ways of changing a VM on this server, and the
	// absolute rates of the machine these were first set on.
	{name: "A/C>=2", conc: 8, peer: "C", value: rateRatio, atLeast: true, target: 2},
	{name: "A/C>=2", conc: 64, peer: "C", value: rateRatio, atLeast: true, target: 2},
	{name: "A/B>=1", conc: 1, peer: "B", value: rateRatio, atLeast: true, target: 1},
	{name: "A/B>=1", conc: 8, peer: "B", value: rateRatio, atLeast: true, target: 1},
	{name: "A/B>=1", conc: 64, peer: "B", value: rateRatio, atLeast: true, target: 1},
	{name: "A>=1460/s", conc: 8, value: rateOfA, atLeast: true, target: 1460},
	{name: "A>=2030/s", conc: 64, value: rateOfA, atLeast: true, target: 2030},
}

// EmitGoals prints each benchmark goal with the measured value and
// whether it was met. A goal whose cells were not measured is skipped.
func EmitGoals(out io.Writer, results []CellResult) {
	byKey := index(results)
	vms := 0
	for _, r := range results {
		vms = max(vms, r.VMs)
	}
	for _, g := range goals {
		a, ok := byKey[cellKey{"A", vms, g.conc}]
		if !ok {
			continue
		}
		var p CellResult
		if g.peer != "" {
			conc := g.conc
			if g.peerConc != 0 {
				conc = g.peerConc
			}
			if p, ok = byKey[cellKey{g.peer, vms, conc}]; !ok {
				continue
			}
		}
		v := g.value(a, p)
		met := v >= g.target
		if !g.atLeast {
			met = v <= g.target
		}
		verdict := "missed"
		if met {
			verdict = "met"
		}
		Emit(out, "goal "+g.name, F("vms", vms), F("c", g.conc), F("value", v), F("result", verdict))
	}
}

func maxOf(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
