package apiserver

import (
	"context"
	"fmt"
	"sync"
	"time"

	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/component-base/metrics"
	"k8s.io/klog/v2"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
)

// The gauges of VMs. They are computed at scrape time from what the
// collector keeps of each VM — its status, run strategy and when its status
// was first seen — as a reflector on the VM store reports them, never from a
// LIST per scrape.
var (
	vmsByStatusDesc = metrics.NewDesc("vm_apiserver_virtualmachines_by_status",
		"VirtualMachines by status.printableStatus (Unknown when the runtime has written none).",
		[]string{"printable_status"}, nil, metrics.ALPHA, "")
	vmsByRunStrategyDesc = metrics.NewDesc("vm_apiserver_virtualmachines_by_run_strategy",
		"VirtualMachines by effective run strategy (Always or Halted for spec.running true or false; None without either).",
		[]string{"run_strategy"}, nil, metrics.ALPHA, "")
	vmsStatusLongestDesc = metrics.NewDesc("vm_apiserver_virtualmachines_status_longest_seconds",
		"For each status.printableStatus, how long the VM that has been in it longest has been there, as this replica observed it.",
		[]string{"printable_status"}, nil, metrics.ALPHA, "")
)

// vmSummary is what the collector keeps of a VM.
type vmSummary struct {
	status      string
	runStrategy string
	since       time.Time // when this replica first saw the VM in status
}

// vmCollector counts VMs for /metrics. It is the store of a reflector on
// the VMs.
type vmCollector struct {
	metrics.BaseStableCollector

	mu  sync.Mutex
	vms map[string]vmSummary // by namespace/name
	now func() time.Time
}

func newVMCollector() *vmCollector {
	return &vmCollector{vms: map[string]vmSummary{}, now: time.Now}
}

// DescribeWithStability lists the gauges.
func (c *vmCollector) DescribeWithStability(ch chan<- *metrics.Desc) {
	ch <- vmsByStatusDesc
	ch <- vmsByRunStrategyDesc
	ch <- vmsStatusLongestDesc
}

// CollectWithStability counts the VMs kept.
func (c *vmCollector) CollectWithStability(ch chan<- metrics.Metric) {
	c.mu.Lock()
	byStatus := map[string]int{}
	byStrategy := map[string]int{}
	oldest := map[string]time.Time{}
	for _, vm := range c.vms {
		byStatus[vm.status]++
		byStrategy[vm.runStrategy]++
		if since, ok := oldest[vm.status]; !ok || vm.since.Before(since) {
			oldest[vm.status] = vm.since
		}
	}
	now := c.now()
	c.mu.Unlock()
	for status, n := range byStatus {
		ch <- metrics.NewLazyConstMetric(vmsByStatusDesc, metrics.GaugeValue, float64(n), status)
		ch <- metrics.NewLazyConstMetric(vmsStatusLongestDesc, metrics.GaugeValue, now.Sub(oldest[status]).Seconds(), status)
	}
	for strategy, n := range byStrategy {
		ch <- metrics.NewLazyConstMetric(vmsByRunStrategyDesc, metrics.GaugeValue, float64(n), strategy)
	}
}

// summarize keeps what the gauges need of vm.
func summarize(vm *kubevirt.VirtualMachine) (status, strategy string) {
	status = string(vm.Status.PrintableStatus)
	if status == "" {
		status = "Unknown"
	}
	switch {
	case vm.Spec.RunStrategy != nil:
		strategy = string(*vm.Spec.RunStrategy)
	case vm.Spec.Running != nil && *vm.Spec.Running:
		strategy = string(kubevirtv1.RunStrategyAlways)
	case vm.Spec.Running != nil:
		strategy = string(kubevirtv1.RunStrategyHalted)
	default:
		strategy = "None"
	}
	return status, strategy
}

// The collector is the store of a reflector on the VMs: it keeps a summary
// of each VM and nothing else, so that 100,000 VMs cost it a few MB.

// Add records a VM the reflector listed or was told about.
func (c *vmCollector) Add(obj interface{}) error {
	vm, ok := obj.(*kubevirt.VirtualMachine)
	if !ok {
		return fmt.Errorf("not a VirtualMachine: %T", obj)
	}
	status, strategy := summarize(vm)
	c.mu.Lock()
	defer c.mu.Unlock()
	key := vmKey(vm)
	c.vms[key] = c.summary(c.vms, key, status, strategy)
	return nil
}

// Update records a VM's new state.
func (c *vmCollector) Update(obj interface{}) error { return c.Add(obj) }

// Delete forgets a VM.
func (c *vmCollector) Delete(obj interface{}) error {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	vm, ok := obj.(*kubevirt.VirtualMachine)
	if !ok {
		return fmt.Errorf("not a VirtualMachine: %T", obj)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.vms, vmKey(vm))
	return nil
}

// Replace starts over from a full list, keeping when each VM still in the
// same status was first seen in it.
func (c *vmCollector) Replace(list []interface{}, _ string) error {
	summaries := make([]struct{ key, status, strategy string }, 0, len(list))
	for _, obj := range list {
		vm, ok := obj.(*kubevirt.VirtualMachine)
		if !ok {
			return fmt.Errorf("not a VirtualMachine: %T", obj)
		}
		status, strategy := summarize(vm)
		summaries = append(summaries, struct{ key, status, strategy string }{vmKey(vm), status, strategy})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	vms := make(map[string]vmSummary, len(summaries))
	for _, s := range summaries {
		vms[s.key] = c.summary(c.vms, s.key, s.status, s.strategy)
	}
	c.vms = vms
	return nil
}

// Resync has nothing to do: nothing is queued.
func (c *vmCollector) Resync() error { return nil }

// summary is the summary of the VM key in status, keeping the time it was
// first seen in it from old. c.mu is held.
func (c *vmCollector) summary(old map[string]vmSummary, key, status, strategy string) vmSummary {
	since := c.now()
	if prev, ok := old[key]; ok && prev.status == status {
		since = prev.since
	}
	return vmSummary{status: status, runStrategy: strategy, since: since}
}

func vmKey(vm *kubevirt.VirtualMachine) string { return vm.Namespace + "/" + vm.Name }

// vmLister lists and watches VMs: the registry's store.
type vmLister interface {
	rest.Lister
	rest.Watcher
}

// storeListWatch lists and watches every namespace's VMs through a store,
// in this process. The objects come from the watch cache: nothing is
// encoded, sent over the loopback connection and decoded again, which every
// write would otherwise pay once more. Listed objects are shared with the
// cache and must not be changed; a watch event's object comes wrapped for
// the cache's serializations, and is unwrapped as a copy.
func storeListWatch(store vmLister) cache.ListerWatcher {
	internal := func(opts metav1.ListOptions) (*metainternalversion.ListOptions, error) {
		out := &metainternalversion.ListOptions{}
		if err := metainternalversion.Convert_v1_ListOptions_To_internalversion_ListOptions(&opts, out, nil); err != nil {
			return nil, err
		}
		return out, nil
	}
	return listNotStream{&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			// One list, without the reflector's pages: the watch cache
			// serves it once it is filled, while a paged list before that
			// would be sent to etcd, next to the cache's own initial list.
			opts.Limit, opts.Continue = 0, ""
			o, err := internal(opts)
			if err != nil {
				return nil, err
			}
			return store.List(genericapirequest.WithNamespace(ctx, metav1.NamespaceAll), o)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			o, err := internal(opts)
			if err != nil {
				return nil, err
			}
			w, err := store.Watch(genericapirequest.WithNamespace(ctx, metav1.NamespaceAll), o)
			if err != nil {
				return nil, err
			}
			return watch.Filter(w, func(e watch.Event) (watch.Event, bool) {
				if wrapped, ok := e.Object.(runtime.CacheableObject); ok {
					e.Object = wrapped.GetObject()
				}
				return e, true
			}), nil
		},
	}}
}

// listNotStream makes a reflector list, not stream: a list from the watch
// cache shares the cache's objects, where a streamed watch-list would hand
// over a copy of each VM and hold them all until the stream ends.
type listNotStream struct{ *cache.ListWatch }

func (listNotStream) IsWatchListSemanticsUnSupported() bool { return true }

// startVMMetrics feeds the collector c from a reflector on store until ctx
// ends.
func startVMMetrics(ctx context.Context, c *vmCollector, store vmLister) {
	reflector := cache.NewReflectorWithOptions(storeListWatch(store), &kubevirt.VirtualMachine{}, c,
		cache.ReflectorOptions{Name: "vm-metrics"})
	go reflector.RunWithContext(ctx)
	klog.V(2).InfoS("Counting VirtualMachines for /metrics from the VM store")
}
