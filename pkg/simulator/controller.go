package simulator

import (
	"context"
	"fmt"
	"sync"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	v1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/generated/clientset/versioned"
	"github.com/vm-apiserver/vm-apiserver/pkg/generated/informers/externalversions"
	listersv1 "github.com/vm-apiserver/vm-apiserver/pkg/generated/listers/core/v1"
)

// Controller is the simulated runtime. Create it with New and start it once
// with Run.
type Controller struct {
	client  versioned.Interface
	opts    Options
	factory externalversions.SharedInformerFactory
	lister  listersv1.VirtualMachineLister
	synced  cache.InformerSynced
	queue   workqueue.TypedRateLimitingInterface[string]

	mu sync.Mutex
	// since remembers when each VM's instance entered its current phase. It
	// only times the delays: losing it (a restart of the runtime) restarts a
	// delay, nothing more.
	since map[string]phaseSince
	// requested remembers when the runtime took up each VM's start or stop,
	// to time how long the instance takes to get there.
	requested map[types.UID]time.Time
}

// phaseSince is when the instance of one VM (by UID) entered a phase.
type phaseSince struct {
	uid   types.UID
	phase phase
	at    time.Time
}

// New returns a simulated runtime that watches VirtualMachines through client
// and writes their status. Zero fields of opts take their defaults.
func New(client versioned.Interface, opts Options) *Controller {
	opts.complete()
	factory := externalversions.NewSharedInformerFactoryWithOptions(client, opts.ResyncPeriod,
		externalversions.WithNamespace(opts.Namespace))
	informer := factory.Kubevirt().V1().VirtualMachines()
	c := &Controller{
		client:  client,
		opts:    opts,
		factory: factory,
		lister:  informer.Lister(),
		synced:  informer.Informer().HasSynced,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "simulated_runtime", Clock: opts.Clock},
		),
		since:     map[string]phaseSince{},
		requested: map[types.UID]time.Time{},
	}
	// Every change is worth a look, the runtime's own status writes included:
	// they are what moves an instance on to its next phase.
	_, err := informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj interface{}) { c.enqueue(obj) },
		DeleteFunc: c.enqueue,
	})
	// AddEventHandler fails only on an informer that has already stopped,
	// which a new factory's informer cannot be.
	utilruntime.Must(err)
	return c
}

// Run starts the informer and workers workers (at least one), and blocks
// until ctx is cancelled and the workers have finished. It returns an error
// only when the informer cache does not sync, which includes ctx ending first.
func (c *Controller) Run(ctx context.Context, workers int) error {
	defer utilruntime.HandleCrash()
	logger := klog.FromContext(ctx).WithName("simulated-runtime")
	ctx = klog.NewContext(ctx, logger)

	c.factory.Start(ctx.Done())
	defer c.factory.Shutdown()
	defer c.queue.ShutDown()

	logger.Info("Starting simulated VM runtime", "namespace", c.opts.Namespace,
		"startDelay", c.opts.StartDelay, "stopDelay", c.opts.StopDelay, "restartDelay", c.opts.RestartDelay)
	if !cache.WaitForNamedCacheSyncWithContext(ctx, c.synced) {
		return fmt.Errorf("simulated runtime: the VirtualMachine cache did not sync")
	}

	if workers < 1 {
		workers = 1
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { wait.UntilWithContext(ctx, c.runWorker, time.Second) })
	}
	<-ctx.Done()
	logger.Info("Stopping simulated VM runtime")
	c.queue.ShutDown()
	wg.Wait()
	return nil
}

func (c *Controller) enqueue(obj interface{}) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(key)
}

func (c *Controller) runWorker(ctx context.Context) {
	for c.processNextItem(ctx) {
	}
}

func (c *Controller) processNextItem(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)

	requeue, err := c.sync(ctx, key)
	switch {
	case err != nil:
		// A conflict means the cache was behind a write (ours or an
		// action's); the retry decides again on the newer object.
		if apierrors.IsConflict(err) {
			klog.FromContext(ctx).V(4).Info("Status write conflicted; retrying", "vm", key)
		} else {
			utilruntime.HandleErrorWithContext(ctx, err, "Syncing VM failed; retrying", "vm", key)
		}
		c.queue.AddRateLimited(key)
	case requeue > 0:
		c.queue.Forget(key)
		c.queue.AddAfter(key, requeue)
	default:
		c.queue.Forget(key)
	}
	return true
}

// sync takes one step for the VM named by key and returns how long to wait
// before looking again when the step waits for a delay.
func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil // a key we never enqueue; retrying will not help
	}
	vm, err := c.lister.VirtualMachines(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		c.forget(key)
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if vm.DeletionTimestamp != nil {
		return 0, nil // going away; nothing to run
	}
	strategy, ok := kubevirt.EffectiveRunStrategy(&vm.Spec)
	if !ok || !supported(strategy) {
		// A VM without a strategy can only come from an older server, and a
		// WaitAsReceiver VM's instance belongs to its incoming migration:
		// leave both alone rather than guess.
		return 0, nil
	}

	now := c.opts.Clock.Now()
	current := observePhase(&vm.Status)
	o := observation{
		strategy:     strategy,
		lastStrategy: vm.Status.RunStrategy,
		phase:        current,
		inPhase:      c.timeInPhase(key, vm.UID, current, now),
		requests:     vm.Status.StateChangeRequests,
		fault:        pendingFault(vm),
	}
	if vm.Spec.Template != nil {
		o.terminationGracePeriod = vm.Spec.Template.Spec.TerminationGracePeriodSeconds
	}
	if done, err := c.applyVolumeRequests(ctx, vm); done || err != nil {
		if apierrors.IsNotFound(err) {
			c.forget(key)
			return 0, nil
		}
		// The template write brings the VM back through the informer.
		return 0, err
	}
	d := decide(o, c.opts.timing())

	status := nextStatus(vm, strategy, d, metav1.NewTime(now))
	if apiequality.Semantic.DeepEqual(status, vm.Status) {
		return d.requeue, nil
	}
	updated := vm.DeepCopy()
	updated.Status = status
	if _, err := c.client.KubevirtV1().VirtualMachines(namespace).UpdateStatus(ctx, updated,
		metav1.UpdateOptions{FieldManager: c.opts.FieldManager}); err != nil {
		if apierrors.IsNotFound(err) {
			c.forget(key)
			return 0, nil
		}
		return 0, err
	}
	if d.next != current {
		c.enterPhase(key, vm.UID, d.next, now)
		c.transition(vm, current, d.next, now)
		klog.FromContext(ctx).V(2).Info("Simulated instance changed", "vm", key,
			"from", current, "to", d.next, "why", d.why)
	}
	return d.requeue, nil
}

// applyVolumeRequests writes the VM's pending status.volumeRequests into its
// template, as KubeVirt's VM controller does under its HotplugVolumes gate:
// the one write a runtime makes outside status. It reports whether it wrote;
// the requests are dropped from status once the template shows them
// (nextStatus). A conflict is retried with the VM as it is then.
func (c *Controller) applyVolumeRequests(ctx context.Context, vm *v1.VirtualMachine) (bool, error) {
	if len(vm.Status.VolumeRequests) == 0 || vm.Spec.Template == nil {
		return false, nil
	}
	updated := vm.DeepCopy()
	for i := range updated.Status.VolumeRequests {
		kubevirt.ApplyVolumeRequest(&updated.Spec.Template.Spec, &updated.Status.VolumeRequests[i])
	}
	if apiequality.Semantic.DeepEqual(updated.Spec, vm.Spec) {
		return false, nil
	}
	if _, err := c.client.KubevirtV1().VirtualMachines(vm.Namespace).Update(ctx, updated,
		metav1.UpdateOptions{FieldManager: c.opts.FieldManager}); err != nil {
		return false, err
	}
	return true, nil
}

// nextStatus is the VM's status after decision d: the instance's phase, the
// request that was carried out removed, the fault recorded, and the strategy
// and generation that the runtime acted on (observedGeneration, and
// desiredGeneration as KubeVirt's controller writes it), and startFailure,
// which counts the crashes since the guest last ran.
func nextStatus(vm *v1.VirtualMachine, strategy v1.VirtualMachineRunStrategy, d decision, now metav1.Time) v1.VirtualMachineStatus {
	status := *vm.Status.DeepCopy()
	setPhase(&status, d.next, now)
	if d.dropRequest && len(status.StateChangeRequests) > 0 {
		status.StateChangeRequests = status.StateChangeRequests[1:]
		if len(status.StateChangeRequests) == 0 {
			status.StateChangeRequests = nil
		}
	}
	if d.fault != nil {
		recordFault(&status, *d.fault, now)
	}
	status.VolumeRequests = pendingVolumeRequests(vm)
	status.VolumeSnapshotStatuses = volumeSnapshotStatuses(vm)
	status.RunStrategy = strategy
	status.ObservedGeneration = vm.Generation
	status.DesiredGeneration = vm.Generation
	switch d.next {
	case phaseFailed:
		if !observePhase(&vm.Status).finished() {
			failure := &v1.VirtualMachineStartFailure{}
			if status.StartFailure != nil {
				failure.ConsecutiveFailCount = status.StartFailure.ConsecutiveFailCount
			}
			failure.ConsecutiveFailCount++
			// The simulated runtime restarts a crashed guest at once.
			failure.RetryAfterTimestamp = now.DeepCopy()
			status.StartFailure = failure
		}
	case phaseRunning:
		status.StartFailure = nil
	}
	return status
}

// timeInPhase is how long the VM's instance has been in phase p, counting
// from the first time this runtime saw it there.
func (c *Controller) timeInPhase(key string, uid types.UID, p phase, now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.since[key]
	if !ok || s.uid != uid || s.phase != p {
		c.since[key] = phaseSince{uid: uid, phase: p, at: now}
		return 0
	}
	return now.Sub(s.at)
}

// enterPhase records that the runtime moved the VM's instance to phase p.
func (c *Controller) enterPhase(key string, uid types.UID, p phase, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.since[key] = phaseSince{uid: uid, phase: p, at: now}
}

// forget drops what the runtime remembers of a deleted VM.
func (c *Controller) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.since, key)
}

// supported reports whether s is a run strategy the runtime runs VMs under:
// every strategy but WaitAsReceiver.
func supported(s v1.VirtualMachineRunStrategy) bool {
	switch s {
	case v1.RunStrategyAlways, v1.RunStrategyRerunOnFailure, v1.RunStrategyOnce,
		v1.RunStrategyManual, v1.RunStrategyHalted:
		return true
	}
	return false
}
