// Package scheme holds the scheme and codecs of vm-apiserver: every type it
// serves or decodes, kubevirt.io and subresources.kubevirt.io, internal and
// versioned; autoscaling/v1 Scale for virtualmachines/scale; and the Events
// that standalone mode serves in the core group and events.k8s.io. It
// imports only API packages, so any other package may import it.
package scheme

import (
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	scalescheme "k8s.io/client-go/scale/scheme"
	scaleautoscalingv1 "k8s.io/client-go/scale/scheme/autoscalingv1"

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
	installScale(Scheme)
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

// installScale registers the Scale of virtualmachines/scale: autoscaling/v1
// Scale on the wire and, as the handlers decode every body to the internal
// version of its group, client-go's internal autoscaling Scale with the
// conversions between the two. Only Scale is registered: the server serves
// no other autoscaling kind.
func installScale(s *runtime.Scheme) {
	s.AddKnownTypes(scalescheme.SchemeGroupVersion, &scalescheme.Scale{})
	s.AddKnownTypes(autoscalingv1.SchemeGroupVersion, &autoscalingv1.Scale{})
	if err := scaleautoscalingv1.RegisterConversions(s); err != nil {
		panic(err)
	}
}
