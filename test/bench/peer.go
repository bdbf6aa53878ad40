package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/vm-apiserver/vm-apiserver/test/bench/crd"
)

// CRDResult is what installing the VirtualMachine CRD took.
type CRDResult struct {
	// Bytes is the size of the CRD as JSON.
	Bytes int
	// Established is the time from the create to the Established
	// condition.
	Established time.Duration
	// Served is the time from the create until a LIST of VirtualMachines
	// answers.
	Served time.Duration
}

// EnsureCRD creates the VirtualMachine CRD (crd.VirtualMachine) on the
// peer, unless it is there, and waits until it is Established and its
// VirtualMachines can be listed.
func EnsureCRD(ctx context.Context, peer *Clients, timeout time.Duration) (CRDResult, error) {
	def, err := crd.VirtualMachine()
	if err != nil {
		return CRDResult{}, fmt.Errorf("building the CRD: %w", err)
	}
	raw, err := json.Marshal(def)
	if err != nil {
		return CRDResult{}, err
	}
	r := CRDResult{Bytes: len(raw)}
	client, err := apiextensionsclient.NewForConfigAndClient(peer.Config, peer.HTTP)
	if err != nil {
		return r, err
	}
	crds := client.ApiextensionsV1().CustomResourceDefinitions()
	start := time.Now()
	if _, err := crds.Create(ctx, def, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return r, fmt.Errorf("creating CRD %s: %w", crd.Name, err)
	}
	var last error
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		got, err := crds.Get(ctx, crd.Name, metav1.GetOptions{})
		if err != nil {
			last = err
			return false, nil
		}
		for _, c := range got.Status.Conditions {
			if c.Type == apiextensionsv1.NonStructuralSchema && c.Status == apiextensionsv1.ConditionTrue {
				return false, fmt.Errorf("CRD %s: %s", crd.Name, c.Message)
			}
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				if r.Established == 0 {
					r.Established = time.Since(start)
				}
			}
		}
		if r.Established == 0 {
			last = fmt.Errorf("CRD %s is not Established", crd.Name)
			return false, nil
		}
		_, err = peer.VMs.KubevirtV1().VirtualMachines("default").List(ctx, metav1.ListOptions{Limit: 1})
		last = err
		return err == nil, nil
	})
	if err != nil && last != nil {
		return r, fmt.Errorf("waiting for CRD %s: %w (last: %w)", crd.Name, err, last)
	}
	if err != nil {
		return r, fmt.Errorf("waiting for CRD %s: %w", crd.Name, err)
	}
	r.Served = time.Since(start)
	return r, nil
}

// EnsureNamespace creates namespace ns on the peer unless it exists:
// kube-apiserver, unlike vm-apiserver standalone, refuses objects in a
// namespace it does not have.
func EnsureNamespace(ctx context.Context, peer *Clients, ns string) error {
	kube, err := kubernetes.NewForConfigAndClient(peer.Config, peer.HTTP)
	if err != nil {
		return err
	}
	_, err = kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", ns, err)
	}
	return nil
}
