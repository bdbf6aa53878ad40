// Package scheme holds the scheme and codecs of vm-apiserver: every type it
// serves or decodes, kubevirt.io and subresources.kubevirt.io, internal and
// versioned, and the Events that standalone mode serves in the core group
// and events.k8s.io. It imports only the API packages, so any other package may
// import it.
package scheme

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"

	eventsinstall "github.com/vm-apiserver/vm-apiserver/pkg/apis/events"
	kubevirtinstall "github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/install"
	subresourcesinstall "github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources/install"
)

var (
	// Scheme holds every type the server serves: kubevirt.io and
	// subresources.kubevirt.io, internal and versioned.
	Scheme = runtime.NewScheme()
	// Codecs encodes and decodes the types in Scheme.
	Codecs = serializer.NewCodecFactory(Scheme)
	// ParameterCodec decodes query parameters into the options of requests.
	ParameterCodec = runtime.NewParameterCodec(Scheme)
)

func init() {
	kubevirtinstall.Install(Scheme)
	subresourcesinstall.Install(Scheme)
	utilruntime.Must(eventsinstall.Install(Scheme))

	// Options such as ListOptions and DeleteOptions are decoded in the
	// unversioned "v1" group, as in every Kubernetes API server.
	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
	Scheme.AddUnversionedTypes(schema.GroupVersion{Group: "", Version: "v1"},
		&metav1.Status{},
		&metav1.APIVersions{},
		&metav1.APIGroupList{},
		&metav1.APIGroup{},
		&metav1.APIResourceList{},
	)
}
