package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// TestRun runs the whole benchmark at its smallest (one-second cells, one
// VM, ten VMs to scale, each micro-benchmark once) against this tree's
// bin/vm-apiserver, with kube-apiserver as the peer, and checks what
// `make bench` prints: every kind of line, in the format of each.
func TestRun(t *testing.T) {
	suite.Require(t)
	bins := framework.RequireBinaries(t, framework.BinVMAPIServer, framework.BinKubeAPIServer, framework.BinEtcd)
	root, err := framework.RepoRoot()
	require.NoError(t, err)
	// run changes to the repository; this puts the directory back after.
	t.Chdir(root)
	out := t.TempDir()

	var stdout bytes.Buffer
	err = run(context.Background(), []string{
		"--cell", "1s", "--warmup", "200ms", "--vms", "1", "--concurrency", "1",
		"--scale-n", "10", "--profile", "1", "--micro", "1", "--micro-time", "1x",
		"--out", out, "--server-bin", bins.VMAPIServer, "--reference-env", "GOGC=100",
	}, &stdout)
	require.NoError(t, err, stdout.String())

	results, err := os.ReadFile(filepath.Join(out, "results.txt"))
	require.NoError(t, err)
	assert.Equal(t, stdout.String(), string(results), "results.txt holds what was printed")

	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	f := `\S+`
	// Every server runs as the kit ships it: its environment and flags.
	kitEnv, kitArgs, err := framework.KitServerSettings(root)
	require.NoError(t, err)
	env, args := regexp.QuoteMeta(strings.Join(kitEnv, ",")), regexp.QuoteMeta(strings.Join(kitArgs, ","))
	want := []struct {
		re    string
		count int // 0: one or more
	}{
		{`BENCH machine nproc=\d+ mem=[0-9.]+GiB cpu=\S* go=go\S+ kernel=\S+ date=\S+Z commit=\S+ load=[0-9.]+,[0-9.]+,[0-9.]+`, 1},
		{`BENCH settings cell=1s warmup=200ms vms=1 concurrency=1 methods=A,M,B,C,D,P,R scale_n=10 etcd=3\.7\.0 fsync=on` +
			` kit=artifacts/base/deployment\.yaml server_env=` + env + ` server_args=` + args + ` server_bin=\S+`, 1},
		{`BENCH reference-settings env=` + env + `,GOGC=100 args=` + args + ` bin=the_server's`, 1},
		{`BENCH startup label=reference vms=0 readyz=` + f, 1},
		{`BENCH reference-client server=vm-apiserver proto=HTTP/2\.0 tls=client-certificate encoding=json`, 1},
		{`BENCH startup label=empty vms=0 readyz=` + f, 1},
		{`BENCH startup label=restart vms=10 readyz=` + f + ` full_list_from_cache=` + f + ` items=10`, 1},
		{`BENCH startup label=no-watch-cache vms=0 readyz=` + f, 1},
		{`BENCH memory phase=\S+ rss=[0-9.]+MiB peak_rss=[0-9.]+MiB`, 10},
		{`BENCH client proto=HTTP/2\.0 tls=client-certificate encoding=json pick=own`, 1},
		{`BENCH peer server=kube-apiserver version=v1\.37\.2 etcd_prefix=/bench-peer readyz=` + f +
			` crd=virtualmachines\.kubevirt\.io crd_bytes=\d+ crd_established=` + f + ` crd_served=` + f, 1},
		{`BENCH peer-client server=kube-apiserver proto=HTTP/2\.0 tls=client-certificate encoding=json`, 1},
		{`BENCH action method=[AMBCDR] vms=1 c=1 flips/s=` + f + ` p50=` + f + ` .*`, 6},
		// The peer's line has the fields of the others, with kube-apiserver
		// as the server, and no failed flip.
		{`BENCH action method=P vms=1 c=1 flips/s=` + f + ` p50=` + f + ` p99=` + f + ` max=` + f +
			` flips=[1-9]\d* retries=\d+ errors=0 srv_cores=` + f + ` others_cores=` + f + ` srv_cpu/flip=` + f +
			` etcd_cpu/flip=` + f + ` client_cpu/flip=` + f + ` srv_allocs/flip=\d+ srv_KiB/flip=` + f +
			` etcd_reads/flip=` + f + ` etcd_writes/flip=` + f + ` fsyncs/flip=` + f, 1},
		{`BENCH ratio A/[MBCDR] vms=1 c=1 flips/s=` + f + ` p50=` + f + ` p99=` + f, 5},
		{`BENCH ratio A/P vms=1 c=1 flips/s=[0-9.]+ p50=[0-9.]+ p99=[0-9.]+`, 1},
		{`BENCH goal \S+ vms=1 c=1 value=` + f + ` result=(met|missed)`, 1},
		{`BENCH goal peak_rss<=1GiB vms=10 value=[0-9.]+MiB result=(met|missed)`, 1},
		{`BENCH profile method=A vms=100 c=64 flips/s=` + f + ` files=\S+-cpu\.pprof,\S+-allocs\.pprof`, 1},
		{`BENCH cpu-share profile=A-vms100-c64 gc=[0-9.]+% alloc=[0-9.]+% .* decide=[0-9.]+%`, 1},
		// The profiled action cell's tables, then a cpu-cum table of each
		// paged LIST's profile.
		{`# (cpu|cpu-cum|alloc-space|alloc-objects|inuse): \S+\.top`, 8},
		{`#   .*`, 0},
		{`BENCH scale create vms=10 c=32 creates/s=` + f + ` .*`, 1},
		{`BENCH scale etcd vms=10 db_size=` + f + ` db_in_use=` + f, 1},
		{`BENCH scale (full-list|full-list-rv0|paged-list) server=(watch-cache|etcd) vms=10 items=10 .* from_cache=\d+/\d+`, 6},
		{`BENCH scale watch server=(watch-cache|etcd) vms=10 .* initial_items=10 .*`, 2},
		{`BENCH cpu-share profile=paged-list-(watch-cache|etcd) gc=[0-9.]+% alloc=[0-9.]+% .* decide=[0-9.]+%`, 2},
		{`BENCH ratio paged-list cache/etcd vms=10 p50=` + f + ` p99=` + f, 1},
		{`BENCH goal paged_list_p99\(cache\)/p99\(etcd\)<=1 vms=10 value=` + f + ` result=(met|missed)`, 1},
		{`BENCH goal paged_list_p99<=50ms vms=10 value=[0-9.]+ms result=(met|missed)`, 1},
		// The micro-benchmarks: go test's lines, each package's results
		// under its pkg: line.
		{`pkg: github\.com/vm-apiserver/vm-apiserver/pkg/\S+`, len(microPackages)},
		{`Benchmark\S+-\d+\s+1\s+[0-9.]+ ns/op(\s+[0-9.]+ \S+)*`, 0},
		{`BENCH done seconds=\d+ results=` + regexp.QuoteMeta(filepath.Join(out, "results.txt")), 1},
	}
	matched := make([]bool, len(lines))
	for _, w := range want {
		re := regexp.MustCompile("^" + w.re + "$")
		n := 0
		for i, l := range lines {
			if re.MatchString(l) {
				n++
				matched[i] = true
			}
		}
		if w.count == 0 {
			assert.Positive(t, n, "lines like %s", w.re)
		} else {
			assert.Equal(t, w.count, n, "lines like %s", w.re)
		}
	}
	for i, l := range lines {
		assert.True(t, matched[i], "unexpected line: %s", l)
	}
	assert.True(t, strings.HasPrefix(lines[len(lines)-1], "BENCH done "), "the last line")

	for _, f := range []string{"etcd.log", "server-empty.log", "server-restart.log", "server-no-watch-cache.log",
		"server-reference.log", "kube-apiserver.log", "kube-apiserver-pki/ca.crt", "profiles/after-actions-heap.pprof"} {
		assert.FileExists(t, filepath.Join(out, f))
	}
}

// TestServerOptions checks that the servers of a run start with the kit's
// environment and flags, then those of --server-env and --server-args.
func TestServerOptions(t *testing.T) {
	root, err := framework.RepoRoot()
	require.NoError(t, err)
	kitEnv, kitArgs, err := framework.KitServerSettings(root)
	require.NoError(t, err)
	require.NotEmpty(t, kitEnv, "the kit sets the server's environment (GOMEMLIMIT)")

	b := &benchRun{
		runConfig: runConfig{serverEnv: "GOGC=200", serverArgs: "--watch-cache-sizes=x", out: t.TempDir(),
			refEnv: "GOGC=100", refArgs: "--profiling=false"},
		server: "/bin/false",
		etcd:   &framework.Etcd{URL: "http://127.0.0.1:2379"},
		kitEnv: kitEnv, kitArgs: kitArgs, apiPort: 8443,
	}
	o := b.serverOptions("empty", "--watch-cache=false")
	assert.Equal(t, append(slices.Clone(kitEnv), "GOGC=200"), o.Env)
	assert.Equal(t, append(slices.Clone(kitArgs), "--watch-cache-sizes=x", "--watch-cache=false"), o.Args)
	s, err := framework.NewVMAPIServer(o)
	require.NoError(t, err)
	assert.Equal(t, o.Env, s.Env, "the process gets the environment")
	assert.Subset(t, s.Args, kitArgs, "the process gets the kit's flags")
	assert.Contains(t, s.Args, "--etcd-servers=http://127.0.0.1:2379")

	env, args := b.settings(b.refEnv, b.refArgs)
	assert.Equal(t, append(slices.Clone(kitEnv), "GOGC=100"), env, "the reference runs as shipped, too")
	assert.Equal(t, append(slices.Clone(kitArgs), "--profiling=false"), args)
}

func TestPagedListFigures(t *testing.T) {
	printed := "BENCH scale full-list server=etcd vms=10 p50=9.00ms\n" +
		"BENCH scale paged-list server=watch-cache vms=10 items=10 requests=1 p50=34.51ms p99=93.50ms total=9.00ms\n" +
		"BENCH scale paged-list server=etcd vms=10 items=10 requests=1 p50=30.14ms p99=53.24ms total=6.00ms\n"
	cache, err := pagedListFigures(printed, "watch-cache")
	require.NoError(t, err)
	assert.Equal(t, pagedFigures{p50: 34510 * time.Microsecond, p99: 93500 * time.Microsecond}, cache)
	etcd, err := pagedListFigures(printed, "etcd")
	require.NoError(t, err)
	assert.Equal(t, pagedFigures{p50: 30140 * time.Microsecond, p99: 53240 * time.Microsecond}, etcd)

	_, err = pagedListFigures("BENCH scale full-list server=etcd\n", "etcd")
	require.EqualError(t, err, "no paged LIST figures of the etcd server were printed")
	_, err = pagedListFigures("BENCH scale paged-list server=etcd p99=fast\n", "etcd")
	require.ErrorContains(t, err, `reading p99 of "BENCH scale paged-list server=etcd p99=fast"`)
}
