package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vm-apiserver/vm-apiserver/test/bench"
	"github.com/vm-apiserver/vm-apiserver/test/bench/crd"
	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// runUsage is the help of `vm-bench run`, which `make bench` runs.
const runUsage = `Usage: vm-bench run [flags] (hack/bench.sh builds vm-bench and runs this)

Runs the benchmarks against real processes on this machine: one etcd 3.7.0
(fsync on, data on disk under the output directory) and one vm-apiserver in
front of it, standalone, over HTTPS with client certificates, run with the
environment and flags of the deployment kit's container
(artifacts/base/deployment.yaml) but on loopback; for method P,
the peer, also kube-apiserver on the same etcd (its own --etcd-prefix)
serving VirtualMachines from a CRD generated from the same types; for
method R, a second vm-apiserver on the same etcd (its own --etcd-prefix),
the reference that a change is measured against: another build
(--reference-bin), environment (--reference-env) or flags
(--reference-args). Any of these adds R to the methods. It prints
one line per figure ("BENCH ..."), the ratio lines A/B, A/C, A/D, A/P and A/R,
the goals, the profile hot spots and the micro-benchmarks. Everything
printed is also kept in <out>/results.txt.

Phases:
  1. etcd and server 1 (watch cache on); start-up time on an empty store;
     kube-apiserver and the VirtualMachine CRD if P is among the methods;
     the reference vm-apiserver if R is
  2. the action cells: method x VM count x concurrency, methods side by side;
     then kube-apiserver and the reference stop
  3. one profiled action cell (CPU and allocations, from /debug/pprof)
  4. scale: create N VMs; RSS; full and paged LISTs; watches; the RSS goal
  5. server 2 on the same etcd: start-up time with N VMs stored
  6. server 3 with --watch-cache=false: the same LISTs and watches from etcd
  7. micro-benchmarks (go test -bench -benchmem)

Each flag's default comes from the environment variable named with it.
The default run takes about 5 minutes on the 2-core machine of
docs/performance.md. A quick run: hack/bench.sh --cell 2s --scale-n 10000 --micro 0

Flags:
`

// runConfig are the settings of a run.
type runConfig struct {
	cell, warmup, vms, concurrency, methods string
	scaleN                                  int
	profile, profileMethods, profileCell    string
	micro, microTime                        string
	out                                     string
	serverEnv, serverArgs, serverBin        string
	// The reference vm-apiserver of method R.
	refEnv, refArgs, refBin string
}

// shares are the parts of the server whose share of its CPU profile the
// run prints, each a regular expression on the stack (-focus); they may
// overlap, e.g. GC assists inside the field manager.
var shares = []struct{ name, focus string }{
	{"gc", `runtime\.gcBgMarkWorker$|runtime\.gcAssistAlloc$|runtime\.bgsweep$|runtime\.bgscavenge$`},
	{"alloc", `runtime\.mallocgc$`},
	{"field_manager", `managedfields/internal\.\(\*FieldManager\)\.Update$`},
	{"x509_authn", `request/x509\.\(\*Authenticator\)\.AuthenticateRequest$`},
	{"etcd_client", `go\.etcd\.io/etcd/client|google\.golang\.org/grpc`},
	{"http2", `golang\.org/x/net/http2`},
	{"stack_growth", `runtime\.newstack$`},
	{"json_encode", `serializer/json\.\(\*Serializer\)\.Encode$`},
	{"json_decode", `serializer/json\.\(\*Serializer\)\.Decode$`},
	{"cached_reencode", `etcd3\.\(\*store\)\.getStateFromObject$`},
	{"response_write", `responsewriters\.WriteObjectNegotiated$`},
	{"watch_cache", `cacher\.\(\*watchCache\)|cacher\.\(\*Cacher\)\.(dispatchEvents|dispatchEvent|processEvent)|etcd3\.\(\*watchChan\)`},
	{"validation", `ValidateUpdate$`},
	{"decide", `virtualmachine\.Decide$`},
}

// microPackages are the packages whose benchmarks phase 7 runs.
var microPackages = []string{
	"./pkg/registry/virtualmachine/", "./pkg/registry/virtualmachine/storage/", "./pkg/apis/kubevirt/install/", "./pkg/apiserver/",
	"./pkg/apis/kubevirt/validation/", "./pkg/certauth/",
}

// benchRun is one run: its settings, its output and the processes it runs.
type benchRun struct {
	runConfig
	root    string
	stdout  io.Writer // the terminal and results.txt
	results string
	server  string // vm-apiserver's binary
	etcd    *framework.Etcd
	vm      *framework.VMAPIServer
	peer    *framework.KubeAPIServer // for method P
	apiURL  string
	apiPort int
	// ref is the reference vm-apiserver, for method R: refServer's binary
	// at refURL, on its own --etcd-prefix.
	ref       *framework.VMAPIServer
	refServer string
	refURL    string
	// kitEnv and kitArgs are the environment and flags of the kit's
	// vm-apiserver (framework.KitServerSettings): every server of the run
	// starts with them, as shipped.
	kitEnv, kitArgs []string
}

// stopGrace is how long a process may take to exit after SIGTERM.
const stopGrace = 2 * time.Minute

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var c runConfig
	str := func(p *string, name, env, def, usage string) {
		fs.StringVar(p, name, envOr(env, def), usage+" ("+env+")")
	}
	str(&c.cell, "cell", "BENCH_CELL", "5s", "measured seconds per cell")
	str(&c.warmup, "warmup", "BENCH_WARMUP", "1s", "unmeasured warm-up per cell")
	str(&c.vms, "vms", "BENCH_VMS", "1,100", "VM set sizes")
	str(&c.concurrency, "concurrency", "BENCH_CONCURRENCY", "1,8,64", "worker counts")
	str(&c.methods, "methods", "BENCH_METHODS", "A,M,B,C,D,P", "methods")
	scaleN := fs.String("scale-n", envOr("BENCH_SCALE_N", "100000"), "VMs of the scale figures, 0 skips them (BENCH_SCALE_N)")
	str(&c.profile, "profile", "BENCH_PROFILE", "1", "1 profiles one cell per method of --profile-methods")
	str(&c.profileMethods, "profile-methods", "BENCH_PROFILE_METHODS", "A", "methods profiled in the cell of --profile-cell")
	str(&c.profileCell, "profile-cell", "BENCH_PROFILE_CELL", "100,64", "VM count and concurrency of the profiled cell")
	str(&c.micro, "micro", "BENCH_MICRO", "1", "1 runs the micro-benchmarks")
	str(&c.microTime, "micro-time", "BENCH_MICRO_TIME", "300ms", "-benchtime of the micro-benchmarks")
	str(&c.out, "out", "BENCH_OUT", "", "output directory, default <repository>/_output/bench")
	str(&c.serverEnv, "server-env", "BENCH_SERVER_ENV", "", "environment of the server, after the kit's, e.g. GOGC=200")
	str(&c.serverArgs, "server-args", "BENCH_SERVER_ARGS", "", "server flags, after the kit's, e.g. --watch-cache=false")
	str(&c.serverBin, "server-bin", "BENCH_SERVER_BIN", "", "a vm-apiserver binary to measure instead of building this tree's")
	str(&c.refBin, "reference-bin", "BENCH_REFERENCE_BIN", "", "method R: the reference vm-apiserver's binary, default the server's")
	str(&c.refEnv, "reference-env", "BENCH_REFERENCE_ENV", "", "method R: the reference's environment, after the kit's, e.g. GOGC=100")
	str(&c.refArgs, "reference-args", "BENCH_REFERENCE_ARGS", "", "method R: the reference's flags, after the kit's")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), runUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unknown argument: %s (see --help)", fs.Arg(0))
	}
	var err error
	if c.scaleN, err = strconv.Atoi(*scaleN); err != nil {
		return fmt.Errorf("--scale-n: %w", err)
	}
	root, err := framework.RepoRoot()
	if err != nil {
		return err
	}
	// Relative paths (the seed VM, the packages, --out) are the repository's.
	if err := os.Chdir(root); err != nil {
		return err
	}
	if c.out == "" {
		c.out = filepath.Join(root, "_output", "bench")
	}
	for _, bin := range []*string{&c.serverBin, &c.refBin} {
		if *bin == "" {
			continue
		}
		// Read before --out is emptied, should it lie there.
		if *bin, err = filepath.Abs(*bin); err != nil {
			return err
		}
	}
	// A reference given means R is measured, side by side with A.
	if (c.refBin != "" || c.refEnv != "" || c.refArgs != "") && !slices.Contains(strings.Split(c.methods, ","), "R") {
		c.methods += ",R"
	}
	b := &benchRun{runConfig: c, root: root}
	if b.kitEnv, b.kitArgs, err = framework.KitServerSettings(root); err != nil {
		return err
	}
	return b.run(ctx, stdout)
}

func (b *benchRun) run(ctx context.Context, stdout io.Writer) (err error) {
	started := time.Now()
	// A fresh run every time: the figures must not depend on an earlier one.
	var serverBin, refBin []byte
	if b.serverBin != "" {
		if serverBin, err = os.ReadFile(b.serverBin); err != nil {
			return err
		}
	}
	if b.refBin != "" {
		if refBin, err = os.ReadFile(b.refBin); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(b.out); err != nil {
		return err
	}
	for _, d := range []string{"bin", "profiles"} {
		if err := os.MkdirAll(filepath.Join(b.out, d), 0o755); err != nil {
			return err
		}
	}
	b.results = filepath.Join(b.out, "results.txt")
	results, err := os.Create(b.results)
	if err != nil {
		return err
	}
	defer func() { _ = results.Close() }()
	// Everything printed also goes to the results file.
	b.stdout = io.MultiWriter(stdout, results)
	defer b.cleanup()

	logf("building vm-apiserver")
	b.server = filepath.Join(b.out, "bin", "vm-apiserver")
	if serverBin != nil {
		if err := os.WriteFile(b.server, serverBin, 0o755); err != nil {
			return err
		}
	} else if err := command(ctx, os.Stderr, "go", "build", "-trimpath", "-o", b.server, "./cmd/vm-apiserver"); err != nil {
		// Built like `make build` (trimpath) but into the output directory,
		// so that bin/ keeps its version-stamped binary.
		return err
	}
	b.refServer = b.server
	if refBin != nil {
		b.refServer = filepath.Join(b.out, "bin", "vm-apiserver-reference")
		if err := os.WriteFile(b.refServer, refBin, 0o755); err != nil {
			return err
		}
	}
	logf("getting etcd (built once, then cached)")
	// It prints where it put etcd; FindBinaries knows that already.
	if err := command(ctx, io.Discard, "hack/build-test-binaries.sh", "etcd"); err != nil {
		return err
	}
	bins, err := framework.FindBinaries()
	if err != nil {
		return err
	}
	if err := bins.Check(framework.BinEtcd); err != nil {
		return err
	}
	if b.withPeer() {
		logf("getting kube-apiserver (built once, then cached)")
		if err := command(ctx, io.Discard, "hack/build-test-binaries.sh", "kube-apiserver"); err != nil {
			return err
		}
		if err := bins.Check(framework.BinKubeAPIServer); err != nil {
			return err
		}
	}

	if err := b.printMachine(ctx, bins.Etcd); err != nil {
		return err
	}

	// --- etcd ---
	b.etcd, err = framework.NewEtcd(bins.Etcd, b.out, "etcd", filepath.Join(b.out, "etcd"), fmt.Sprintf("--quota-backend-bytes=%d", 8<<30))
	if err != nil {
		return err
	}
	if b.apiPort, err = freePort(); err != nil {
		return err
	}
	b.apiURL = fmt.Sprintf("https://127.0.0.1:%d", b.apiPort)
	logf("starting etcd on %s (data in %s, fsync on)", b.etcd.URL, b.etcd.DataDir)
	if err := b.etcd.Start(); err != nil {
		return err
	}
	if err := b.etcd.WaitHealthy(ctx, 30*time.Second); err != nil {
		return fmt.Errorf("%w\n%s", err, b.etcd.Tail(100))
	}

	// --- actions ---
	if err := b.startServer(ctx, "empty", 0); err != nil {
		return err
	}
	actionArgs := append(b.common(),
		"--etcd", b.etcd.URL, "--vms", b.vms, "--concurrency", b.concurrency, "--methods", b.methods,
		"--warmup", b.warmup, "--duration", b.cell, "--seed", "artifacts/examples/vm-cirros.yaml",
		"--etcd-pid", strconv.Itoa(b.etcd.Pid()))
	if b.profile == "1" {
		actionArgs = append(actionArgs, "--profile-dir", b.profiles(), "--profile-methods", b.profileMethods, "--profile-cell", b.profileCell)
	}
	if b.withPeer() {
		if err := b.startPeer(ctx, bins.KubeAPIServer); err != nil {
			return err
		}
		actionArgs = append(actionArgs, "--peer-server", b.peer.URL, "--peer-dir", b.peer.PKI, "--peer-pid", strconv.Itoa(b.peer.Pid()))
	}
	if b.withReference() {
		if err := b.startReference(ctx); err != nil {
			return err
		}
		actionArgs = append(actionArgs, "--reference-server", b.refURL, "--reference-dir", b.refDataDir(), "--reference-pid", strconv.Itoa(b.ref.Pid()))
	}
	logf("action cells: methods %s, VMs %s, concurrency %s, %s + %s each", b.methods, b.vms, b.concurrency, b.warmup, b.cell)
	if err := actions(ctx, actionArgs, b.stdout); err != nil {
		return fmt.Errorf("actions: %w", err)
	}
	// Neither the peer nor the reference is measured past the action cells.
	b.stopPeer()
	b.stopReference()

	// The hot spots, kept in files; the heads are printed as comments.
	if b.profile == "1" {
		if err := b.printProfiles(ctx); err != nil {
			return err
		}
	}

	// --- scale ---
	if b.scaleN > 0 {
		if err := b.scale(ctx); err != nil {
			return err
		}
	}
	b.stopServer()

	// --- micro-benchmarks ---
	if b.micro == "1" {
		logf("micro-benchmarks (-benchtime %s)", b.microTime)
		if err := b.microBenchmarks(ctx); err != nil {
			return err
		}
	}

	fmt.Fprintf(b.stdout, "BENCH done seconds=%d results=%s\n", int(time.Since(started).Seconds()), b.results)
	return nil
}

// scale runs phases 4 to 6.
func (b *benchRun) scale(ctx context.Context) error {
	n := strconv.Itoa(b.scaleN)
	logf("scale: creating %d VMs", b.scaleN)
	err := scale(ctx, append(b.common(), "--etcd", b.etcd.URL, "--n", n,
		"--seed", "artifacts/examples/vm-cirros.yaml", "--label", "watch-cache", "--profile-dir", b.profiles()), b.stdout)
	if err != nil {
		return fmt.Errorf("scale: %w", err)
	}
	if b.profile == "1" {
		if err := b.top(ctx, "inuse", filepath.Join(b.profiles(), "after-create-heap.pprof"), "-sample_index=inuse_space", "-nodecount=25"); err != nil {
			return err
		}
	}
	if err := b.emitRSSGoal(); err != nil {
		return err
	}
	b.stopServer()

	if err := b.startServer(ctx, "restart", b.scaleN); err != nil {
		return err
	}
	b.stopServer()

	if err := b.startServer(ctx, "no-watch-cache", 0, "--watch-cache=false"); err != nil {
		return err
	}
	if err := scale(ctx, append(b.common(), "--n", n, "--create=false", "--label", "etcd", "--profile-dir", b.profiles()), b.stdout); err != nil {
		return fmt.Errorf("scale: %w", err)
	}
	if b.profile == "1" {
		// Where a page's time goes, through the cache and from etcd.
		for _, label := range []string{"watch-cache", "etcd"} {
			file := filepath.Join(b.profiles(), "paged-list-"+label+"-cpu.pprof")
			if err := b.printShares(ctx, file); err != nil {
				return err
			}
			if err := b.top(ctx, "cpu-cum", file, "-cum", "-nodecount=80"); err != nil {
				return err
			}
		}
	}
	return b.emitPagedListGoals()
}

// pagedListGoal is the p99 of a page of a paged LIST (limit=500) at
// 100,000 VMs.
const pagedListGoal = 50 * time.Millisecond

// emitPagedListGoals compares the paged LISTs of the two servers of the
// scale phase, read back from what the run printed: the pages through the
// watch cache against the same pages read straight from etcd, and the
// cache's p99 against pagedListGoal.
func (b *benchRun) emitPagedListGoals() error {
	printed, err := os.ReadFile(b.results)
	if err != nil {
		return err
	}
	cache, err := pagedListFigures(string(printed), "watch-cache")
	if err != nil {
		return err
	}
	etcd, err := pagedListFigures(string(printed), "etcd")
	if err != nil {
		return err
	}
	bench.Emit(b.stdout, "ratio paged-list cache/etcd", bench.F("vms", b.scaleN),
		bench.F("p50", bench.Ratio(float64(cache.p50), float64(etcd.p50))),
		bench.F("p99", bench.Ratio(float64(cache.p99), float64(etcd.p99))))
	ratio := bench.Ratio(float64(cache.p99), float64(etcd.p99))
	for _, g := range []struct {
		name  string
		value any
		met   bool
	}{
		{"paged_list_p99(cache)/p99(etcd)<=1", ratio, ratio <= 1},
		{"paged_list_p99<=50ms", cache.p99, cache.p99 <= pagedListGoal},
	} {
		verdict := "missed"
		if g.met {
			verdict = "met"
		}
		bench.Emit(b.stdout, "goal "+g.name, bench.F("vms", b.scaleN), bench.F("value", g.value), bench.F("result", verdict))
	}
	return nil
}

// pagedFigures are the p50 and p99 of a page of a paged LIST.
type pagedFigures struct{ p50, p99 time.Duration }

// pagedListFigures finds the paged LIST line of server in printed.
func pagedListFigures(printed, server string) (pagedFigures, error) {
	prefix := "BENCH scale paged-list server=" + server + " "
	for line := range strings.Lines(printed) {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		var f pagedFigures
		for field := range strings.FieldsSeq(line) {
			key, value, _ := strings.Cut(field, "=")
			var err error
			switch key {
			case "p50":
				f.p50, err = time.ParseDuration(value)
			case "p99":
				f.p99, err = time.ParseDuration(value)
			}
			if err != nil {
				return pagedFigures{}, fmt.Errorf("reading %s of %q: %w", key, strings.TrimSpace(line), err)
			}
		}
		return f, nil
	}
	return pagedFigures{}, fmt.Errorf("no paged LIST figures of the %s server were printed", server)
}

// common are the flags of every phase that talks to the server.
func (b *benchRun) common() []string {
	return []string{"--server", b.apiURL, "--data-dir", b.dataDir(), "--server-pid", strconv.Itoa(b.vm.Pid())}
}

func (b *benchRun) dataDir() string  { return filepath.Join(b.out, "server") }
func (b *benchRun) profiles() string { return filepath.Join(b.out, "profiles") }

// serverOptions are those of the server of a phase, label, with more
// flags: the kit's settings, then --server-env and --server-args, which
// come later and so override them.
func (b *benchRun) serverOptions(label string, flags ...string) framework.VMAPIServerOptions {
	env, args := b.settings(b.serverEnv, b.serverArgs)
	return framework.VMAPIServerOptions{
		Bin: b.server, Dir: b.out, Name: "server-" + label, DataDir: b.dataDir(),
		Port: b.apiPort, EtcdURL: b.etcd.URL, Env: env, Args: append(args, flags...),
	}
}

// settings are the environment and flags of a server: the kit's, then the
// given ones (space-separated).
func (b *benchRun) settings(env, args string) ([]string, []string) {
	return append(slices.Clone(b.kitEnv), strings.Fields(env)...), append(slices.Clone(b.kitArgs), strings.Fields(args)...)
}

// startServer starts vm-apiserver on the bench etcd, its output in
// server-<label>.log, and prints its start-up time: until /readyz, and
// until the watch cache holds n VMs.
func (b *benchRun) startServer(ctx context.Context, label string, n int, flags ...string) error {
	logf("starting vm-apiserver (%s) on %s", label, b.apiURL)
	o := b.serverOptions(label, flags...)
	o.WaitReady = b.waitStartup(label, n)
	var err error
	b.vm, err = framework.StartVMAPIServer(ctx, o)
	return err
}

// waitStartup waits until a server is ready, as the phase "startup" (see
// startup), and prints its start-up time, labelled label: from when the
// process started until /readyz, and until the watch cache holds n VMs.
func (b *benchRun) waitStartup(label string, n int) func(context.Context, *framework.VMAPIServer) error {
	return func(ctx context.Context, s *framework.VMAPIServer) error {
		err := startup(ctx, []string{"--server", s.URL, "--data-dir", s.DataDir, "--server-pid", strconv.Itoa(s.Pid()),
			"--since-ns", strconv.FormatInt(s.Started.UnixNano(), 10),
			"--label", label, "--n", strconv.Itoa(n), "--namespace", "scale"}, b.stdout)
		if err != nil {
			return fmt.Errorf("startup: %w", err)
		}
		return nil
	}
}

// stopServer stops the server and waits until it has exited.
func (b *benchRun) stopServer() {
	if b.vm != nil {
		b.stop(b.vm.Process)
	}
}

// rssGoal is the most resident memory the server may need at 100,000 VMs
// (the default --scale-n): the kit's memory limit, limits.memory in
// artifacts/base/deployment.yaml.
const rssGoal = 1 << 30

// emitRSSGoal prints the goal on the server's peak resident set, read now.
func (b *benchRun) emitRSSGoal() error {
	m, err := bench.ReadMemory(b.vm.Pid())
	if err != nil {
		return fmt.Errorf("reading the server's memory: %w", err)
	}
	verdict := "missed"
	if m.Peak <= rssGoal {
		verdict = "met"
	}
	bench.Emit(b.stdout, "goal peak_rss<=1GiB", bench.F("vms", b.scaleN), bench.F("value", bench.MiB(m.Peak)), bench.F("result", verdict))
	return nil
}

// withPeer reports whether the run includes method P.
func (b *benchRun) withPeer() bool {
	return slices.Contains(strings.Split(b.methods, ","), "P") ||
		slices.Contains(strings.Split(b.profileMethods, ","), "P") && b.profile == "1"
}

// peerPrefix is kube-apiserver's --etcd-prefix: its keys stay apart from
// vm-apiserver's in the shared etcd.
const peerPrefix = "/bench-peer"

// startPeer starts kube-apiserver on the bench etcd, its output in
// kube-apiserver.log, installs the VirtualMachine CRD and prints how long
// both took.
func (b *benchRun) startPeer(ctx context.Context, bin string) error {
	logf("starting kube-apiserver (the peer)")
	var err error
	b.peer, err = framework.StartKubeAPIServer(ctx, framework.KubeAPIServerOptions{
		Bin: bin, Dir: b.out, EtcdURL: b.etcd.URL, Args: []string{"--etcd-prefix=" + peerPrefix},
	})
	if err != nil {
		return err
	}
	ready := b.peer.Ready
	clients, err := bench.Target{Server: b.peer.URL, DataDir: b.peer.PKI}.Connect()
	if err != nil {
		return err
	}
	r, err := bench.EnsureCRD(ctx, clients, 2*time.Minute)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, b.peer.Tail(30))
	}
	bench.Emit(b.stdout, "peer", bench.F("server", "kube-apiserver"), bench.F("version", framework.KubernetesVersion),
		bench.F("etcd_prefix", peerPrefix), bench.F("readyz", ready), bench.F("crd", crd.Name),
		bench.F("crd_bytes", r.Bytes), bench.F("crd_established", r.Established), bench.F("crd_served", r.Served))
	return nil
}

// stopPeer stops kube-apiserver, if it runs, and waits until it has exited.
func (b *benchRun) stopPeer() {
	if b.peer != nil {
		b.stop(b.peer.Process)
	}
}

// withReference reports whether the run includes method R.
func (b *benchRun) withReference() bool {
	return slices.Contains(strings.Split(b.methods, ","), "R") ||
		slices.Contains(strings.Split(b.profileMethods, ","), "R") && b.profile == "1"
}

// referencePrefix is the reference vm-apiserver's --etcd-prefix: its VMs
// and their watch events stay apart from the server's.
const referencePrefix = "/bench-reference"

func (b *benchRun) refDataDir() string { return filepath.Join(b.out, "server-reference") }

// startReference starts the reference vm-apiserver (method R) on the bench
// etcd, its output in server-reference.log, and prints its start-up time.
// It runs beside the server, with the server's settings unless
// --reference-env or --reference-args say otherwise.
func (b *benchRun) startReference(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	b.refURL = fmt.Sprintf("https://127.0.0.1:%d", port)
	logf("starting the reference vm-apiserver on %s", b.refURL)
	env, args := b.settings(b.refEnv, b.refArgs)
	b.ref, err = framework.StartVMAPIServer(ctx, framework.VMAPIServerOptions{
		Bin: b.refServer, Dir: b.out, Name: "server-reference", DataDir: b.refDataDir(), Port: port,
		EtcdURL: b.etcd.URL, Env: env, Args: append([]string{"--etcd-prefix=" + referencePrefix}, args...),
		WaitReady: b.waitStartup("reference", 0),
	})
	return err
}

// stopReference stops the reference vm-apiserver, if it runs.
func (b *benchRun) stopReference() {
	if b.ref != nil {
		b.stop(b.ref.Process)
	}
}

// stop stops a process, if it was started, and waits until it has exited.
func (b *benchRun) stop(p *framework.Process) {
	if p == nil {
		return
	}
	if err := p.Stop(stopGrace); err != nil {
		logf("%v", err)
	}
}

// cleanup stops whatever still runs.
func (b *benchRun) cleanup() {
	b.stopPeer()
	b.stopReference()
	b.stopServer()
	if b.etcd != nil {
		if err := b.etcd.Stop(stopGrace); err != nil {
			logf("%v", err)
		}
	}
}

// printMachine prints what the figures were measured on and with.
func (b *benchRun) printMachine(ctx context.Context, etcd string) error {
	goVersion, err := output(ctx, "go", "env", "GOVERSION")
	if err != nil {
		return err
	}
	commit, err := output(ctx, "git", "rev-parse", "--short=12", "HEAD")
	if err != nil {
		commit = "unknown"
	}
	if status, err := output(ctx, "git", "status", "--porcelain"); err == nil && status != "" {
		commit += "-dirty"
	}
	kernel, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return err
	}
	loadavg, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return err
	}
	load := strings.Fields(string(loadavg))
	memKB, err := strconv.ParseFloat(procField("/proc/meminfo", "MemTotal", 1), 64)
	if err != nil {
		return fmt.Errorf("reading MemTotal: %w", err)
	}
	cpu := strings.ReplaceAll(procField("/proc/cpuinfo", "model name", 0), " ", "_")
	fmt.Fprintf(b.stdout, "BENCH machine nproc=%d mem=%.1fGiB cpu=%s go=%s kernel=%s date=%s commit=%s load=%s\n",
		runtime.NumCPU(), memKB/1048576, cpu, goVersion, strings.TrimSpace(string(kernel)),
		time.Now().UTC().Format("2006-01-02T15:04:05Z"), commit, strings.Join(load[:min(3, len(load))], ","))

	etcdVersion, err := output(ctx, etcd, "--version")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(etcdVersion, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && strings.Contains(line, "etcd Version") {
			etcdVersion = f[2]
			break
		}
	}
	serverBin := b.serverBin
	if serverBin == "" {
		serverBin = "built"
	}
	env, args := b.settings(b.serverEnv, b.serverArgs)
	fmt.Fprintf(b.stdout, "BENCH settings cell=%s warmup=%s vms=%s concurrency=%s methods=%s scale_n=%d etcd=%s fsync=on kit=%s server_env=%s server_args=%s server_bin=%s\n",
		b.cell, b.warmup, b.vms, b.concurrency, b.methods, b.scaleN, etcdVersion, framework.KitDeployment,
		strings.Join(env, ","), strings.Join(args, ","), serverBin)
	if b.withReference() {
		refBin := b.refBin
		if refBin == "" {
			refBin = "the_server's"
		}
		env, args := b.settings(b.refEnv, b.refArgs)
		fmt.Fprintf(b.stdout, "BENCH reference-settings env=%s args=%s bin=%s\n",
			strings.Join(env, ","), strings.Join(args, ","), refBin)
	}
	return nil
}

// procField returns the value of the first line of a /proc file that
// starts with key: the whole value (field 0) or its n-th word.
func procField(file, key string, n int) string {
	data, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(k, key) {
			continue
		}
		v = strings.TrimSpace(v)
		if n == 0 {
			return v
		}
		if f := strings.Fields(v); len(f) >= n {
			return f[n-1]
		}
		return ""
	}
	return ""
}

// printProfiles prints, for each CPU profile, the shares of the server's
// CPU, and the heads of the pprof tables of every profile.
func (b *benchRun) printProfiles(ctx context.Context) error {
	cpu, err := filepath.Glob(filepath.Join(b.profiles(), "*-cpu.pprof"))
	if err != nil {
		return err
	}
	for _, f := range cpu {
		if err := b.printShares(ctx, f); err != nil {
			return err
		}
		if err := b.top(ctx, "cpu", f, "-nodecount=40"); err != nil {
			return err
		}
		if err := b.top(ctx, "cpu-cum", f, "-cum", "-nodecount=80"); err != nil {
			return err
		}
	}
	allocs, err := filepath.Glob(filepath.Join(b.profiles(), "*-allocs.pprof"))
	if err != nil {
		return err
	}
	for _, f := range allocs {
		if err := b.top(ctx, "alloc-space", f, "-sample_index=alloc_space", "-nodecount=40"); err != nil {
			return err
		}
		if err := b.top(ctx, "alloc-objects", f, "-sample_index=alloc_objects", "-nodecount=40"); err != nil {
			return err
		}
	}
	return b.top(ctx, "inuse", filepath.Join(b.profiles(), "after-actions-heap.pprof"), "-sample_index=inuse_space", "-nodecount=25")
}

// showing is pprof's line that gives the share of the focused nodes.
var showing = regexp.MustCompile(`^Showing nodes accounting for [^,]*, ([0-9.]*%) of `)

// printShares prints, for a CPU profile, the share of the server's CPU
// spent under each of the parts in shares.
func (b *benchRun) printShares(ctx context.Context, file string) error {
	line := "BENCH cpu-share profile=" + strings.TrimSuffix(filepath.Base(file), "-cpu.pprof")
	for _, s := range shares {
		out, err := output(ctx, "go", "tool", "pprof", "-top", "-nodecount=1000000", "-focus="+s.focus, b.server, file)
		if err != nil {
			return err
		}
		pct := "0%"
		for _, l := range strings.Split(out, "\n") {
			if m := showing.FindStringSubmatch(l); m != nil {
				pct = m[1]
			}
		}
		line += " " + s.name + "=" + pct
	}
	fmt.Fprintln(b.stdout, line)
	return nil
}

// top writes pprof's table of a profile to <profile>.<name>.top and prints
// its first lines as comments. A profile pprof cannot read is skipped.
func (b *benchRun) top(ctx context.Context, name, file string, flags ...string) error {
	table := strings.TrimSuffix(file, ".pprof") + "." + name + ".top"
	out, err := rawOutput(ctx, "go", append(append([]string{"tool", "pprof", "-top"}, flags...), b.server, file)...)
	if writeErr := os.WriteFile(table, []byte(out), 0o644); writeErr != nil {
		return writeErr
	}
	if err != nil {
		return nil
	}
	fmt.Fprintf(b.stdout, "# %s: %s\n", name, table)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for i, l := range lines {
		if strings.Contains(l, "flat%") {
			for _, l := range lines[i:min(len(lines), i+16)] {
				fmt.Fprintf(b.stdout, "#   %s\n", l)
			}
			break
		}
	}
	return nil
}

// microBenchmarks runs the benchmarks of microPackages and prints their
// result lines, and every failure with the go test output around it.
func (b *benchRun) microBenchmarks(ctx context.Context) error {
	args := append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", b.microTime}, microPackages...)
	cmd := exec.CommandContext(ctx, "go", args...)
	// One stream, in order: a build failure is reported on stderr.
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return err
	}
	waited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		_ = pw.Close()
		waited <- err
	}()
	printed, failed := filterMicro(pr, b.stdout)
	err := <-waited
	switch {
	case err != nil:
		return fmt.Errorf("micro-benchmarks: go test %s: %w", strings.Join(args[1:], " "), err)
	case failed:
		return errors.New("micro-benchmarks: a benchmark failed")
	case printed == 0:
		return errors.New("micro-benchmarks: no result")
	}
	return nil
}

// filterMicro copies the output of go test -bench from r to w: the result
// lines (Benchmark..., pkg:) always; on a failure, every line of the failing
// package from its pkg: line (or from the start, for a build failure) to its
// end. It returns how many result lines it printed and whether anything
// failed. Lines held back are printed, too, if the output ends inside a
// package (go test died before it said ok or FAIL).
func filterMicro(r io.Reader, w io.Writer) (results int, failed bool) {
	var held []string // this package's lines not yet printed
	failing := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case failing:
			fmt.Fprintln(w, l)
		case strings.HasPrefix(l, "Benchmark") && strings.Contains(l, "\t"):
			// A result: name, iterations and figures, tab-separated.
			fmt.Fprintln(w, l)
			results++
			continue
		case strings.HasPrefix(l, "pkg:"):
			fmt.Fprintln(w, l)
			held = held[:0]
			continue
		case microFailure(l):
			failing, failed = true, true
			for _, h := range held {
				fmt.Fprintln(w, h)
			}
			held = held[:0]
			fmt.Fprintln(w, l)
		default:
			held = append(held, l)
		}
		// A package ends with "ok" or "FAIL" and its import path.
		if strings.HasPrefix(l, "ok  ") || strings.HasPrefix(l, "FAIL\t") {
			failing = false
			held = held[:0]
		}
	}
	if len(held) > 0 {
		for _, h := range held {
			fmt.Fprintln(w, h)
		}
	}
	return results, failed
}

// microFailure reports whether a line of go test's output says something
// failed: a test or benchmark, a package, its build, or a panic.
func microFailure(l string) bool {
	for _, p := range []string{"--- FAIL", "FAIL", "panic:", "# ", "fatal error:"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return strings.Contains(l, "[build failed]") || strings.Contains(l, "[setup failed]")
}

// command runs a program with its stdout on stdout and its stderr on
// stderr.
func command(ctx context.Context, stdout io.Writer, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

// output runs a program and returns its stdout, trimmed; its stderr is
// dropped.
func output(ctx context.Context, name string, args ...string) (string, error) {
	out, err := rawOutput(ctx, name, args...)
	return strings.TrimSpace(out), err
}

// rawOutput runs a program and returns its stdout; its stderr is dropped.
func rawOutput(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	return string(out), err
}

// freePort returns a free loopback port.
func freePort() (int, error) {
	ports, err := framework.FreePorts(1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

// logf prints progress on stderr.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[bench %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// envOr is the value of the environment variable name, or def if it is
// empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
