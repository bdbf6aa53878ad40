package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"

	"github.com/vm-apiserver/vm-apiserver/test/framework"
)

// vmVerbs are the verbs of kubevirt.io/v1 virtualmachines (docs/api.md).
var vmVerbs = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

// expectedResource is a discovery entry that must be served.
type expectedResource struct {
	groupVersion string
	name         string
	kind         string
	verbs        []string
}

var expectedResources = []expectedResource{
	{vmGroupVersion, "virtualmachines", "VirtualMachine", vmVerbs},
	{vmGroupVersion, "virtualmachines/status", "VirtualMachine", []string{"get", "patch", "update"}},
	{vmGroupVersionV1a, "virtualmachines", "VirtualMachine", vmVerbs},
	{vmGroupVersionV1a, "virtualmachines/status", "VirtualMachine", []string{"get", "patch", "update"}},
	{subresourcesV1, "virtualmachines/start", "", []string{"update"}},
	{subresourcesV1, "virtualmachines/stop", "", []string{"update"}},
	{subresourcesV1, "virtualmachines/restart", "", []string{"update"}},
	{subresourcesV1, "virtualmachines/addvolume", "", []string{"update"}},
	{subresourcesV1, "virtualmachines/removevolume", "", []string{"update"}},
	{subresourcesV1a, "virtualmachines/start", "", []string{"update"}},
	{subresourcesV1a, "virtualmachines/stop", "", []string{"update"}},
	{subresourcesV1a, "virtualmachines/restart", "", []string{"update"}},
	{subresourcesV1a, "virtualmachines/addvolume", "", []string{"update"}},
	{subresourcesV1a, "virtualmachines/removevolume", "", []string{"update"}},
}

func TestAPIServicesAvailable(t *testing.T) {
	suite.Require(t)
	for _, name := range kitAPIServices {
		t.Run(name, func(t *testing.T) {
			svc, err := env.agg.ApiregistrationV1().APIServices().Get(t.Context(), name, metav1.GetOptions{})
			require.NoError(t, err)
			c := availableCondition(svc)
			require.NotNil(t, c, "no Available condition")
			assert.Equal(t, apiregistrationv1.ConditionTrue, c.Status)
			assert.Equal(t, "all checks passed", c.Message)
			// Trust comes from the kit's caBundle, never from skipping verification.
			assert.False(t, svc.Spec.InsecureSkipTLSVerify)
			assert.Equal(t, env.vmServingCA, svc.Spec.CABundle)
		})
	}
}

func TestDiscovery(t *testing.T) {
	suite.Require(t)
	dc := env.kube.Discovery()
	// Every group, aggregated ones included, must answer.
	_, _, err := dc.ServerGroupsAndResources()
	require.NoError(t, err)

	// The preferred namespaced resources: client-go leaves subresources out
	// of this list, so it must hold virtualmachines itself.
	preferred, err := dc.ServerPreferredNamespacedResources()
	require.NoError(t, err)
	vm := findAPIResource(preferred, vmGroupVersion, "virtualmachines")
	require.NotNil(t, vm, "virtualmachines not among the preferred namespaced resources")
	assert.True(t, vm.Namespaced)
	assert.ElementsMatch(t, vmVerbs, []string(vm.Verbs))

	// kubevirt.io prefers v1 over the deprecated v1alpha3.
	groups, err := dc.ServerGroups()
	require.NoError(t, err)
	group := findGroup(groups.Groups, "kubevirt.io")
	require.NotNil(t, group)
	assert.Equal(t, vmGroupVersion, group.PreferredVersion.GroupVersion)
	var versions []string
	for _, v := range group.Versions {
		versions = append(versions, v.GroupVersion)
	}
	assert.Equal(t, []string{vmGroupVersion, vmGroupVersionV1a}, versions)

	// Each group-version, subresources included, through the aggregator.
	var lists []*metav1.APIResourceList
	for _, gv := range []string{vmGroupVersion, vmGroupVersionV1a, subresourcesV1, subresourcesV1a} {
		l, err := dc.ServerResourcesForGroupVersion(gv)
		require.NoError(t, err)
		lists = append(lists, l)
	}
	for _, want := range expectedResources {
		t.Run(want.groupVersion+"/"+want.name, func(t *testing.T) {
			r := findAPIResource(lists, want.groupVersion, want.name)
			require.NotNil(t, r, "%s not in discovery", want.name)
			assert.True(t, r.Namespaced)
			assert.ElementsMatch(t, want.verbs, []string(r.Verbs))
			if want.kind != "" {
				assert.Equal(t, want.kind, r.Kind)
			}
			if want.name == "virtualmachines" {
				assert.ElementsMatch(t, []string{"vm", "vms"}, r.ShortNames)
				assert.Contains(t, r.Categories, "all")
				assert.Equal(t, "virtualmachine", r.SingularName)
			}
		})
	}
}

func findAPIResource(lists []*metav1.APIResourceList, groupVersion, name string) *metav1.APIResource {
	for _, l := range lists {
		if l == nil || l.GroupVersion != groupVersion {
			continue
		}
		for i := range l.APIResources {
			if l.APIResources[i].Name == name {
				return &l.APIResources[i]
			}
		}
	}
	return nil
}

// aggregatedDiscoveryAccept asks for the aggregated discovery document.
const aggregatedDiscoveryAccept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

func TestAggregatedDiscovery(t *testing.T) {
	suite.Require(t)
	wantSubresources := map[string]map[string][]string{
		"kubevirt.io/v1":       {"status": {"get", "patch", "update"}},
		"kubevirt.io/v1alpha3": {"status": {"get", "patch", "update"}},
		"subresources.kubevirt.io/v1": {
			"start": {"update"}, "stop": {"update"}, "restart": {"update"},
			"addvolume": {"update"}, "removevolume": {"update"},
		},
		"subresources.kubevirt.io/v1alpha3": {
			"start": {"update"}, "stop": {"update"}, "restart": {"update"},
			"addvolume": {"update"}, "removevolume": {"update"},
		},
	}
	// The aggregator refreshes its copy of our discovery in the background.
	var doc apidiscoveryv2.APIGroupDiscoveryList
	err := framework.Poll(t.Context(), pollInterval, time.Minute, "aggregated discovery", func(ctx context.Context) (bool, error) {
		data, err := env.kube.Discovery().RESTClient().Get().AbsPath("/apis").
			SetHeader("Accept", aggregatedDiscoveryAccept).DoRaw(ctx)
		if err != nil {
			return false, err
		}
		doc = apidiscoveryv2.APIGroupDiscoveryList{}
		if err := json.Unmarshal(data, &doc); err != nil {
			return false, err
		}
		for gv := range wantSubresources {
			if v := findDiscoveryVersion(doc, gv); v == nil || v.Freshness != apidiscoveryv2.DiscoveryFreshnessCurrent {
				return false, fmt.Errorf("%s missing or stale", gv)
			}
		}
		return true, nil
	})
	require.NoError(t, err)

	for gv, subs := range wantSubresources {
		t.Run(gv, func(t *testing.T) {
			v := findDiscoveryVersion(doc, gv)
			require.NotNil(t, v)
			var vm *apidiscoveryv2.APIResourceDiscovery
			for i := range v.Resources {
				if v.Resources[i].Resource == "virtualmachines" {
					vm = &v.Resources[i]
				}
			}
			require.NotNil(t, vm, "virtualmachines not in %s", gv)
			assert.Equal(t, apidiscoveryv2.ScopeNamespace, vm.Scope)
			if gv == vmGroupVersion || gv == vmGroupVersionV1a {
				assert.ElementsMatch(t, vmVerbs, vm.Verbs)
				assert.ElementsMatch(t, []string{"vm", "vms"}, vm.ShortNames)
			}
			got := map[string][]string{}
			for _, s := range vm.Subresources {
				got[s.Subresource] = s.Verbs
			}
			for name, verbs := range subs {
				require.Contains(t, got, name)
				assert.ElementsMatch(t, verbs, got[name], "verbs of %s", name)
			}
		})
	}
}

func findDiscoveryVersion(doc apidiscoveryv2.APIGroupDiscoveryList, groupVersion string) *apidiscoveryv2.APIVersionDiscovery {
	for _, g := range doc.Items {
		for i := range g.Versions {
			if g.Name+"/"+g.Versions[i].Version == groupVersion {
				return &g.Versions[i]
			}
		}
	}
	return nil
}

// TestDiscoveryAgrees compares what kube-apiserver serves for our groups with
// what vm-apiserver itself serves, called directly as the front proxy.
func TestDiscoveryAgrees(t *testing.T) {
	suite.Require(t)
	direct := func(t *testing.T, path string, into any) {
		t.Helper()
		resp, err := directRequest(t.Context(), env.frontProxy, http.MethodGet, path,
			map[string][]string{"X-Remote-User": {"discovery-check"}, "X-Remote-Group": {"system:authenticated"}})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.code, string(resp.body))
		require.NoError(t, json.Unmarshal(resp.body, into))
	}
	viaKube := func(t *testing.T, path string, into any) {
		t.Helper()
		data, err := env.kube.Discovery().RESTClient().Get().AbsPath(path).SetHeader("Accept", "application/json").DoRaw(t.Context())
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(data, into))
	}

	t.Run("/apis", func(t *testing.T) {
		var ours, kube metav1.APIGroupList
		direct(t, "/apis", &ours)
		viaKube(t, "/apis", &kube)
		require.ElementsMatch(t, []string{"kubevirt.io", "subresources.kubevirt.io"}, groupNames(ours.Groups))
		for _, g := range ours.Groups {
			k := findGroup(kube.Groups, g.Name)
			require.NotNil(t, k, "%s missing at kube-apiserver", g.Name)
			assert.Equal(t, g.PreferredVersion, k.PreferredVersion, g.Name)
			assert.ElementsMatch(t, g.Versions, k.Versions, g.Name)
		}
	})
	for _, group := range []string{"kubevirt.io", "subresources.kubevirt.io"} {
		t.Run("/apis/"+group, func(t *testing.T) {
			var ours, kube metav1.APIGroup
			direct(t, "/apis/"+group, &ours)
			viaKube(t, "/apis/"+group, &kube)
			assert.Equal(t, ours.Name, kube.Name)
			assert.Equal(t, ours.PreferredVersion, kube.PreferredVersion)
			assert.ElementsMatch(t, ours.Versions, kube.Versions)
		})
	}
	for _, gv := range []string{vmGroupVersion, vmGroupVersionV1a, subresourcesV1, subresourcesV1a} {
		t.Run("/apis/"+gv, func(t *testing.T) {
			var ours, kube metav1.APIResourceList
			direct(t, "/apis/"+gv, &ours)
			viaKube(t, "/apis/"+gv, &kube)
			assert.Equal(t, gv, ours.GroupVersion)
			assert.Equal(t, resourceNames(ours.APIResources), resourceNames(kube.APIResources))
			assert.ElementsMatch(t, ours.APIResources, kube.APIResources)
		})
	}
}

func groupNames(gs []metav1.APIGroup) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Name)
	}
	return out
}

func findGroup(gs []metav1.APIGroup, name string) *metav1.APIGroup {
	for i := range gs {
		if gs[i].Name == name {
			return &gs[i]
		}
	}
	return nil
}

func resourceNames(rs []metav1.APIResource) []string {
	s := sets.New[string]()
	for _, r := range rs {
		s.Insert(r.Name)
	}
	out := s.UnsortedList()
	sort.Strings(out)
	return out
}
