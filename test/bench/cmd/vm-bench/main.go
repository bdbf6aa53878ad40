// Command vm-bench is the harness of `make bench`, which hack/bench.sh
// builds and runs as `vm-bench run`:
//
//	vm-bench run ...          the whole benchmark: builds vm-apiserver, starts
//	                          etcd and the servers, runs every phase below,
//	                          the profiles and the micro-benchmarks
//	vm-bench startup ...      wait for a server; print its start-up time
//	vm-bench actions ...      the A/B/C/D/P cells, their ratios and the goals
//	vm-bench scale ...        create many VMs; RSS, LIST and watch figures
//	vm-bench crd              print the VirtualMachine CRD that P's
//	                          kube-apiserver serves, as YAML
//
// The phases also run alone against a server started by hand. Every figure
// is one line starting with "BENCH"; progress goes to stderr.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"sigs.k8s.io/yaml"

	"github.com/vm-apiserver/vm-apiserver/test/bench"
	"github.com/vm-apiserver/vm-apiserver/test/bench/crd"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "run":
		err = run(ctx, os.Args[2:], os.Stdout)
	case "startup":
		err = startup(ctx, os.Args[2:], os.Stdout)
	case "actions":
		err = actions(ctx, os.Args[2:], os.Stdout)
	case "scale":
		err = scale(ctx, os.Args[2:], os.Stdout)
	case "crd":
		err = printCRD(os.Stdout)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "vm-bench %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: vm-bench run|startup|actions|scale [flags]; see -h of each. vm-bench crd prints the peer's CRD")
	os.Exit(2)
}

// common are the flags every phase that talks to the server has.
type common struct {
	server    string
	dataDir   string
	serverPID int
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.server, "server", "", "vm-apiserver base URL, https://127.0.0.1:PORT")
	fs.StringVar(&c.dataDir, "data-dir", "", "the server's --data-dir, holding ca.crt, admin.crt and admin.key")
	fs.IntVar(&c.serverPID, "server-pid", 0, "the server's process id, for its memory figures (0: none)")
}

func (c *common) target() (bench.Target, error) {
	if c.server == "" || c.dataDir == "" {
		return bench.Target{}, fmt.Errorf("--server and --data-dir are required")
	}
	return bench.Target{Server: c.server, DataDir: c.dataDir}, nil
}

// emitMemory prints the server's resident set now and at its peak.
func (c *common) emitMemory(w io.Writer, phase string) {
	if c.serverPID == 0 {
		return
	}
	m, err := bench.ReadMemory(c.serverPID)
	if err != nil {
		fmt.Fprintf(os.Stderr, "reading the server's memory: %v\n", err)
		return
	}
	bench.Emit(w, "memory", bench.F("phase", phase), bench.F("rss", bench.MiB(m.RSS)), bench.F("peak_rss", bench.MiB(m.Peak)))
}

func startup(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("startup", flag.ExitOnError)
	var c common
	c.register(fs)
	sinceNS := fs.Int64("since-ns", 0, "when the server process was started, in Unix nanoseconds (date +%s%N)")
	ns := fs.String("namespace", "scale", "namespace whose VMs the first LIST reads")
	n := fs.Int("n", 0, "wait until a LIST at resourceVersion 0 returns this many VMs (0: only /readyz)")
	label := fs.String("label", "", "name of this start in the printed line")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	_ = fs.Parse(args)
	t, err := c.target()
	if err != nil {
		return err
	}
	since := time.Now()
	if *sinceNS != 0 {
		since = time.Unix(0, *sinceNS)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	// A fresh server writes its credentials before it serves.
	if err := bench.WaitFiles(ctx, t); err != nil {
		return err
	}
	clients, err := t.Connect()
	if err != nil {
		return err
	}
	r, err := bench.WaitStartup(ctx, clients, t, since, *ns, *n)
	if err != nil {
		return err
	}
	fields := []bench.Field{bench.F("label", *label), bench.F("vms", *n), bench.F("readyz", r.Ready)}
	if *n > 0 {
		fields = append(fields, bench.F("full_list_from_cache", r.Listed), bench.F("items", r.Items))
	}
	bench.Emit(w, "startup", fields...)
	c.emitMemory(w, "startup-"+*label)
	return nil
}

func actions(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("actions", flag.ExitOnError)
	var c common
	c.register(fs)
	etcdURL := fs.String("etcd", "", "etcd client URL, for method D")
	etcdPrefix := fs.String("etcd-prefix", "/vm-apiserver", "the server's --etcd-prefix")
	ns := fs.String("namespace", "bench", "namespace of the VMs")
	vms := fs.String("vms", "1,100", "VM set sizes")
	conc := fs.String("concurrency", "1,8,64", "worker counts")
	methods := fs.String("methods", "A,B,C,D", "methods to run (A action, M action with Prefer: return=minimal, B GET+PUT, C GET+JSON patch, D etcd, P GET+JSON patch on kube-apiserver's CRD, R action on the reference vm-apiserver)")
	warmup := fs.Duration("warmup", time.Second, "unmeasured warm-up of each cell")
	duration := fs.Duration("duration", 5*time.Second, "measured window of each cell")
	seed := fs.String("seed", "artifacts/examples/vm-cirros.yaml", "the seed VM")
	profileDir := fs.String("profile-dir", "", "if set, run one more cell per --profile-methods while the server records CPU and allocation profiles, into this dir")
	profileMethods := fs.String("profile-methods", "A", "methods to profile")
	profileCell := fs.String("profile-cell", "100,64", "VM count and concurrency of the profiled cells")
	etcdPID := fs.Int("etcd-pid", 0, "etcd's process id, for its CPU per flip (0: none)")
	random := fs.Bool("random", false, "workers draw a VM at random for every flip (and collide) instead of each flipping its own VMs")
	peerServer := fs.String("peer-server", "", "for method P: kube-apiserver's base URL, https://127.0.0.1:PORT")
	peerDir := fs.String("peer-dir", "", "for method P: the directory of kube-apiserver's ca.crt and of the admin's admin.crt and admin.key")
	peerPID := fs.Int("peer-pid", 0, "kube-apiserver's process id, for its CPU per flip (0: none)")
	refServer := fs.String("reference-server", "", "for method R: the reference vm-apiserver's base URL, https://127.0.0.1:PORT")
	refDir := fs.String("reference-dir", "", "for method R: the reference vm-apiserver's --data-dir")
	refPID := fs.Int("reference-pid", 0, "the reference vm-apiserver's process id, for its CPU per flip (0: none)")
	_ = fs.Parse(args)

	t, err := c.target()
	if err != nil {
		return err
	}
	cfg := bench.ActionsConfig{Namespace: *ns, Warmup: *warmup, Duration: *duration, EtcdPrefix: *etcdPrefix, Random: *random}
	if cfg.VMCounts, err = ints(*vms); err != nil {
		return err
	}
	if cfg.Concurrency, err = ints(*conc); err != nil {
		return err
	}
	cfg.Methods = strings.Split(*methods, ",")
	if cfg.Template, err = bench.LoadTemplate(*seed); err != nil {
		return err
	}
	clients, err := t.Connect()
	if err != nil {
		return err
	}
	proto, err := clients.Protocol(ctx, t.Server)
	if err != nil {
		return err
	}
	// Every request of every worker shares this client: one TLS connection
	// with the admin certificate, multiplexed with HTTP/2.
	bench.Emit(w, "client", bench.F("proto", proto), bench.F("tls", "client-certificate"),
		bench.F("encoding", "json"), bench.F("pick", map[bool]string{true: "random", false: "own"}[*random]))
	cfg.Meter = &bench.Meter{Clients: clients, ServerPID: c.serverPID, EtcdPID: *etcdPID, EtcdURL: *etcdURL}
	// The peer and the reference get the server's client settings: one TLS
	// connection with an admin certificate, HTTP/2, JSON.
	other := func(label, server, name, dir string, pid int) (*bench.Clients, *bench.Meter, error) {
		t := bench.Target{Server: server, DataDir: dir}
		clients, err := t.Connect()
		if err != nil {
			return nil, nil, err
		}
		proto, err := clients.Protocol(ctx, t.Server)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", label, err)
		}
		bench.Emit(w, label+"-client", bench.F("server", name), bench.F("proto", proto),
			bench.F("tls", "client-certificate"), bench.F("encoding", "json"))
		return clients, &bench.Meter{Clients: clients, ServerPID: pid, EtcdPID: *etcdPID, EtcdURL: *etcdURL}, nil
	}
	if *peerServer != "" {
		if cfg.Peer, cfg.PeerMeter, err = other("peer", *peerServer, "kube-apiserver", *peerDir, *peerPID); err != nil {
			return err
		}
		if _, err := bench.EnsureCRD(ctx, cfg.Peer, time.Minute); err != nil {
			return err
		}
	} else if slices.Contains(cfg.Methods, "P") {
		return fmt.Errorf("method P needs --peer-server and --peer-dir")
	}
	if *refServer != "" {
		if cfg.Reference, cfg.ReferenceMeter, err = other("reference", *refServer, "vm-apiserver", *refDir, *refPID); err != nil {
			return err
		}
	} else if slices.Contains(cfg.Methods, "R") {
		return fmt.Errorf("method R needs --reference-server and --reference-dir")
	}
	var etcd *clientv3.Client
	if *etcdURL != "" {
		if etcd, err = bench.NewEtcd(*etcdURL); err != nil {
			return err
		}
		defer etcd.Close()
	} else if strings.Contains(*methods, "D") {
		return fmt.Errorf("method D needs --etcd")
	}

	if _, err := bench.RunActions(ctx, clients, etcd, cfg, w); err != nil {
		return err
	}
	c.emitMemory(w, "actions")

	if *profileDir == "" {
		return nil
	}
	// What the server holds after the cells: the watch cache's history of
	// their events, mostly.
	if err := bench.SaveHeapProfile(ctx, clients, filepath.Join(*profileDir, "after-actions-heap.pprof")); err != nil {
		return err
	}
	pc, err := ints(*profileCell)
	if err != nil || len(pc) != 2 {
		return fmt.Errorf("--profile-cell wants VMS,CONCURRENCY, got %q", *profileCell)
	}
	names, err := bench.EnsureVMs(ctx, clients, cfg.Template, *ns, pc[0])
	if err != nil {
		return err
	}
	for _, name := range strings.Split(*profileMethods, ",") {
		m, err := bench.NewMethod(name, bench.Servers{Server: clients, Peer: cfg.Peer, Reference: cfg.Reference}, etcd, *etcdPrefix, *ns, names)
		if err != nil {
			return err
		}
		// P's server is kube-apiserver and R's the reference: profile
		// the one that serves the cell.
		profiled := clients
		if name == "R" {
			if _, err := bench.EnsureVMs(ctx, cfg.Reference, cfg.Template, *ns, pc[0]); err != nil {
				return err
			}
			profiled = cfg.Reference
		}
		if name == "P" {
			if err := bench.EnsureNamespace(ctx, cfg.Peer, *ns); err != nil {
				return err
			}
			if _, err := bench.EnsureVMs(ctx, cfg.Peer, cfg.Template, *ns, pc[0]); err != nil {
				return err
			}
			profiled = cfg.Peer
		}
		cell := bench.Cell{Method: m, VMs: pc[0], Concurrency: pc[1], Warmup: *warmup, Duration: *duration, Random: *random}
		r, files, err := bench.ProfileCell(ctx, profiled, cell, *profileDir, fmt.Sprintf("%s-vms%d-c%d", name, pc[0], pc[1]))
		if err != nil {
			return err
		}
		bench.Emit(w, "profile", bench.F("method", name), bench.F("vms", pc[0]), bench.F("c", pc[1]),
			bench.F("flips/s", r.Rate()), bench.F("files", strings.Join(files, ",")))
	}
	return nil
}

// pagedListProfileSeconds is how long the CPU profile of a paged LIST
// records: a paged LIST of 100,000 VMs takes about 10 s.
const pagedListProfileSeconds = 5

func scale(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("scale", flag.ExitOnError)
	var c common
	c.register(fs)
	etcdURL := fs.String("etcd", "", "etcd client URL, for the database size (optional)")
	ns := fs.String("namespace", "scale", "namespace of the VMs")
	n := fs.Int("n", 100000, "number of VMs")
	create := fs.Bool("create", true, "create the VMs first (false: they exist)")
	createConc := fs.Int("create-concurrency", 32, "concurrent creates")
	seed := fs.String("seed", "artifacts/examples/vm-cirros.yaml", "the seed VM")
	label := fs.String("label", "watch-cache", "where this server serves reads from, for the printed lines")
	listReps := fs.Int("list-reps", 3, "repeats of each full LIST")
	pageLimit := fs.Int("page-limit", 500, "page size of the paged LIST")
	watches := fs.Bool("watches", true, "measure the watch figures")
	watchReps := fs.Int("watch-reps", 5, "repeats of the watch from now")
	profileDir := fs.String("profile-dir", "", "if set, save the server's heap profile after the creates, and a CPU profile of the paged LIST (paged-list-<label>-cpu.pprof), into this dir")
	_ = fs.Parse(args)

	t, err := c.target()
	if err != nil {
		return err
	}
	clients, err := t.Connect()
	if err != nil {
		return err
	}
	if *create {
		template, err := bench.LoadTemplate(*seed)
		if err != nil {
			return err
		}
		s, err := bench.CreateVMs(ctx, clients, template, *ns, *n, *createConc, os.Stderr)
		if err != nil {
			return err
		}
		bench.Emit(w, "scale create", bench.F("vms", *n), bench.F("c", *createConc), bench.F("creates/s", s.Rate()),
			bench.F("p50", s.P50), bench.F("p99", s.P99), bench.F("total", s.Window.Round(time.Millisecond)))
		c.emitMemory(w, "after-create")
		if *profileDir != "" {
			if err := bench.SaveHeapProfile(ctx, clients, filepath.Join(*profileDir, "after-create-heap.pprof")); err != nil {
				return err
			}
		}
		if *etcdURL != "" {
			emitEtcdSize(ctx, w, *etcdURL, *n)
		}
	}

	lists := []struct {
		name string
		run  func() (bench.ListResult, error)
	}{
		{"full-list", func() (bench.ListResult, error) { return bench.FullList(ctx, clients, *ns, "", *listReps) }},
		{"full-list-rv0", func() (bench.ListResult, error) { return bench.FullList(ctx, clients, *ns, "0", *listReps) }},
		{"paged-list", func() (bench.ListResult, error) {
			paged := func() (bench.ListResult, error) { return bench.PagedList(ctx, clients, *ns, *pageLimit) }
			if *profileDir == "" {
				return paged()
			}
			// What a page costs the server, by where its CPU goes.
			return bench.ProfileDuring(ctx, clients, pagedListProfileSeconds, filepath.Join(*profileDir, "paged-list-"+*label+"-cpu.pprof"), paged)
		}},
	}
	for _, l := range lists {
		// The server counts the LISTs its watch cache answers: the
		// difference says where these were served from.
		before, err := clients.Metric(ctx, "apiserver_cache_list_total")
		if err != nil {
			return err
		}
		r, err := l.run()
		if err != nil {
			return fmt.Errorf("%s: %w", l.name, err)
		}
		after, err := clients.Metric(ctx, "apiserver_cache_list_total")
		if err != nil {
			return err
		}
		fields := []bench.Field{bench.F("server", *label), bench.F("vms", *n), bench.F("items", r.Items),
			bench.F("requests", r.Requests), bench.F("p50", r.P50), bench.F("p99", r.P99),
			bench.F("total", r.Total), bench.F("bytes", r.Bytes),
			bench.F("from_cache", fmt.Sprintf("%.0f/%d", after-before, r.Requests))}
		bench.Emit(w, "scale "+l.name, fields...)
	}
	c.emitMemory(w, "after-lists-"+*label)

	if *watches {
		wr, err := bench.Watches(ctx, clients, *ns, bench.ScaleVMName(0), *n, *watchReps)
		if err != nil {
			return fmt.Errorf("watches: %w", err)
		}
		watchList := bench.F("watchlist_synced", wr.WatchList)
		if wr.WatchListErr != nil {
			watchList = bench.F("watchlist_synced", "n/a")
			fmt.Fprintf(os.Stderr, "streaming list on the %s server: %v\n", *label, wr.WatchListErr)
		}
		bench.Emit(w, "scale watch", bench.F("server", *label), bench.F("vms", *n),
			bench.F("established_p50", wr.Established.P50), bench.F("established_max", wr.Established.Max),
			bench.F("event_p50", wr.Event.P50), bench.F("event_max", wr.Event.Max),
			bench.F("initial_first", wr.InitialFirst), bench.F("initial_all", wr.InitialAll), bench.F("initial_items", wr.Items),
			watchList)
		c.emitMemory(w, "after-watches-"+*label)
	}
	return nil
}

// emitEtcdSize prints etcd's database size, to tell the server's memory
// from the data's.
func emitEtcdSize(ctx context.Context, w io.Writer, url string, n int) {
	etcd, err := bench.NewEtcd(url)
	if err != nil {
		fmt.Fprintf(os.Stderr, "etcd size: %v\n", err)
		return
	}
	defer etcd.Close()
	st, err := etcd.Status(ctx, url)
	if err != nil {
		fmt.Fprintf(os.Stderr, "etcd size: %v\n", err)
		return
	}
	bench.Emit(w, "scale etcd", bench.F("vms", n), bench.F("db_size", bench.MiB(st.DbSize)),
		bench.F("db_in_use", bench.MiB(st.DbSizeInUse)))
}

// ints parses "1,8,64".
func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("want positive integers separated by commas, got %q", s)
		}
		out = append(out, v)
	}
	return out, nil
}

// printCRD writes the VirtualMachine CRD, generated from the OpenAPI
// definitions as the bench installs it, as YAML.
func printCRD(w io.Writer) error {
	def, err := crd.VirtualMachine()
	if err != nil {
		return err
	}
	out, err := yaml.Marshal(def)
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}
