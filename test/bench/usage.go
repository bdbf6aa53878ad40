package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// Usage is what the processes spent: CPU time of the server, of etcd and
// of the harness itself, and the server's heap allocations. Sampled at both
// ends of a window, the difference says what one flip costs each of them,
// which on a CPU-bound machine explains the throughput.
type Usage struct {
	ServerCPU, EtcdCPU, ClientCPU time.Duration
	// MachineCPU is the CPU time of every process on the machine: what is
	// not ours is other work competing for the cores (noise).
	MachineCPU time.Duration
	// ServerAllocs and ServerAllocBytes count the server's heap allocations
	// (go_memstats_mallocs_total and go_memstats_alloc_bytes_total).
	ServerAllocs, ServerAllocBytes float64
	// EtcdRanges, EtcdPuts and EtcdFsyncs count etcd's reads, writes and
	// WAL fsyncs (etcd_mvcc_range_total, etcd_mvcc_put_total,
	// etcd_disk_wal_fsync_duration_seconds_count): a Txn counts as its parts.
	EtcdRanges, EtcdPuts, EtcdFsyncs float64
}

// Sub is u - v.
func (u Usage) Sub(v Usage) Usage {
	return Usage{
		ServerCPU: u.ServerCPU - v.ServerCPU, EtcdCPU: u.EtcdCPU - v.EtcdCPU, ClientCPU: u.ClientCPU - v.ClientCPU,
		MachineCPU:   u.MachineCPU - v.MachineCPU,
		ServerAllocs: u.ServerAllocs - v.ServerAllocs, ServerAllocBytes: u.ServerAllocBytes - v.ServerAllocBytes,
		EtcdRanges: u.EtcdRanges - v.EtcdRanges, EtcdPuts: u.EtcdPuts - v.EtcdPuts, EtcdFsyncs: u.EtcdFsyncs - v.EtcdFsyncs,
	}
}

// Meter samples the usage of the server and etcd processes, by pid, and of
// the harness. A zero pid leaves that process out.
type Meter struct {
	Clients   *Clients
	ServerPID int
	EtcdPID   int
	// EtcdURL, if set, is scraped for etcd's operation counts.
	EtcdURL string
}

// Sample reads the counters now. Reading the server's /metrics costs the
// server one small request, which lands in the window it opens.
func (m *Meter) Sample(ctx context.Context) (Usage, error) {
	var u Usage
	var err error
	if m.ServerPID != 0 {
		if u.ServerCPU, err = ReadCPU(m.ServerPID); err != nil {
			return u, err
		}
	}
	if m.EtcdPID != 0 {
		if u.EtcdCPU, err = ReadCPU(m.EtcdPID); err != nil {
			return u, err
		}
	}
	if u.ClientCPU, err = ReadCPU(os.Getpid()); err != nil {
		return u, err
	}
	if u.MachineCPU, err = ReadBusy(); err != nil {
		return u, err
	}
	data, err := m.Clients.Get(ctx, "/metrics")
	if err != nil {
		return u, err
	}
	u.ServerAllocs = MetricSum(data, "go_memstats_mallocs_total")
	u.ServerAllocBytes = MetricSum(data, "go_memstats_alloc_bytes_total")
	if m.EtcdURL != "" {
		data, err := scrape(ctx, m.EtcdURL+"/metrics")
		if err != nil {
			return u, err
		}
		u.EtcdRanges = MetricSum(data, "etcd_mvcc_range_total")
		u.EtcdPuts = MetricSum(data, "etcd_mvcc_put_total")
		u.EtcdFsyncs = MetricSum(data, "etcd_disk_wal_fsync_duration_seconds_count")
	}
	return u, nil
}

// scrape GETs a plain-HTTP metrics endpoint.
func scrape(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// OthersCPU is the CPU time that processes other than the server, etcd and
// the harness used: on a shared machine, the noise in a window.
func (u Usage) OthersCPU() time.Duration {
	return max(0, u.MachineCPU-u.ServerCPU-u.EtcdCPU-u.ClientCPU)
}

// PerOp divides the usage by n operations; a zero n gives zero.
func (u Usage) PerOp(n int) Usage {
	if n == 0 {
		return Usage{}
	}
	d := time.Duration(n)
	f := float64(n)
	return Usage{
		ServerCPU: u.ServerCPU / d, EtcdCPU: u.EtcdCPU / d, ClientCPU: u.ClientCPU / d,
		MachineCPU:   u.MachineCPU / d,
		ServerAllocs: u.ServerAllocs / f, ServerAllocBytes: u.ServerAllocBytes / f,
		EtcdRanges: u.EtcdRanges / f, EtcdPuts: u.EtcdPuts / f, EtcdFsyncs: u.EtcdFsyncs / f,
	}
}
