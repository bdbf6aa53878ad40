package apiserver

import (
	"context"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	restful "github.com/emicklei/go-restful/v3"
	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/endpoints"
	"k8s.io/apiserver/pkg/endpoints/discovery"
	"k8s.io/apiserver/pkg/endpoints/handlers/negotiation"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	"k8s.io/apiserver/pkg/endpoints/metrics"
	"k8s.io/apiserver/pkg/endpoints/request"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/warning"
	"k8s.io/client-go/tools/events"
	kubevirtv1 "kubevirt.io/api/core/v1"

	"github.com/vm-apiserver/vm-apiserver/pkg/api/scheme"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt"
	"github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources"
	subresourcesv1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/subresources/v1"
	"github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine"
	vmstorage "github.com/vm-apiserver/vm-apiserver/pkg/registry/virtualmachine/storage"
)

// The actions, in the order discovery lists them.
var actions = []virtualmachine.Action{
	virtualmachine.ActionStart, virtualmachine.ActionStop, virtualmachine.ActionRestart,
	virtualmachine.ActionAddVolume, virtualmachine.ActionRemoveVolume,
}

// optionSamples are the wire forms of the option bodies, for OpenAPI.
var optionSamples = map[virtualmachine.Action]any{
	virtualmachine.ActionStart:   subresourcesv1.StartOptions{},
	virtualmachine.ActionStop:    subresourcesv1.StopOptions{},
	virtualmachine.ActionRestart: subresourcesv1.RestartOptions{},
	// KubeVirt's own option kinds, which the volume actions read as they are.
	virtualmachine.ActionAddVolume:    kubevirtv1.AddVolumeOptions{},
	virtualmachine.ActionRemoveVolume: kubevirtv1.RemoveVolumeOptions{},
}

// actionTitles name each action's OpenAPI operation and documentation.
var actionTitles = map[virtualmachine.Action]string{
	virtualmachine.ActionStart:        "Start",
	virtualmachine.ActionStop:         "Stop",
	virtualmachine.ActionRestart:      "Restart",
	virtualmachine.ActionAddVolume:    "AddVolume",
	virtualmachine.ActionRemoveVolume: "RemoveVolume",
}

// actionDocs describe each action's route in OpenAPI.
var actionDocs = map[virtualmachine.Action]string{
	virtualmachine.ActionStart:        "Start a VirtualMachine",
	virtualmachine.ActionStop:         "Stop a VirtualMachine",
	virtualmachine.ActionRestart:      "Restart a VirtualMachine",
	virtualmachine.ActionAddVolume:    "Hot plug a disk and its volume into a VirtualMachine",
	virtualmachine.ActionRemoveVolume: "Hot unplug a disk and its volume from a VirtualMachine",
}

// actionResources is what discovery lists in each version of
// subresources.kubevirt.io, as KubeVirt's virt-api lists it: the VMs, with
// no verb of their own (they are served by kubevirt.io), and their actions,
// each an update that answers a kubevirt.io/v1 VirtualMachine.
func actionResources() []metav1.APIResource {
	vm := metav1.APIResource{
		Name: "virtualmachines", SingularName: "virtualmachine", Namespaced: true,
		Group: kubevirtv1.SchemeGroupVersion.Group, Version: kubevirtv1.SchemeGroupVersion.Version, Kind: "VirtualMachine",
		Verbs: metav1.Verbs{},
	}
	resources := []metav1.APIResource{vm}
	for _, action := range actions {
		sub := vm
		sub.Name, sub.SingularName, sub.Verbs = "virtualmachines/"+string(action), "", metav1.Verbs{"update"}
		resources = append(resources, sub)
	}
	return resources
}

// installActions serves subresources.kubevirt.io: its discovery (the
// group, each version, and their entries in aggregated discovery), the PUT
// route of each action, and virtctl's GET version.
//
// The routes are the server's own rather than the generic installer's: the
// installer serves a verb other than the CRUD ones only as a rest.Connecter,
// whose handler counts every request as long-running, refuses a dryRun
// query, and describes the answer as a string in OpenAPI. An action is a
// short write that answers 202 with the VM.
func installActions(s *genericapiserver.GenericAPIServer, h *actionHandler) error {
	group := metav1.APIGroup{Name: subresources.GroupName}
	for _, gv := range actionVersions {
		group.Versions = append(group.Versions, metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: gv.Version})
	}
	group.PreferredVersion = group.Versions[0]
	s.DiscoveryGroupManager.AddGroup(group)
	s.Handler.GoRestfulContainer.Add(discovery.NewAPIGroupHandler(scheme.Codecs, group).WebService())

	resources := actionResources()
	aggregated, err := endpoints.ConvertGroupVersionIntoToDiscovery(resources)
	if err != nil {
		return err
	}
	for _, gv := range actionVersions {
		ws := new(restful.WebService).Path("/apis/"+gv.String()).
			Doc("API at /apis/"+gv.String()).
			Consumes("*/*").
			Produces(runtime.ContentTypeJSON, runtime.ContentTypeYAML)
		discovery.NewAPIVersionHandler(scheme.Codecs, gv, discovery.APIResourceListerFunc(actionResources)).AddToWebService(ws)
		for _, action := range actions {
			path := "/namespaces/{namespace}/virtualmachines/{name}/" + string(action)
			title := actionTitles[action]
			bodyDoc, bodyRequired := "the action's options; the body may be empty", false
			if virtualmachine.IsVolumeAction(action) {
				bodyDoc, bodyRequired = "the volume request", true
			}
			route := ws.PUT(path).
				To(metrics.InstrumentRouteFunc("PUT", gv.Group, gv.Version, "virtualmachines", string(action), "resource",
					metrics.APIServerComponent, false, "", h.route(action))).
				Doc(actionDocs[action]+": answers 202 with the VirtualMachine as stored, or as it would be under dryRun; with the header Prefer: return=minimal, 202 and no body.").
				Operation("replaceNamespacedVirtualMachine"+title+strings.ToUpper(gv.Version[:1])+gv.Version[1:]).
				Param(ws.PathParameter("namespace", "object name and auth scope, such as for teams and projects").DataType("string")).
				Param(ws.PathParameter("name", "name of the VirtualMachine").DataType("string")).
				Param(ws.QueryParameter("dryRun", "When present, indicates that modifications should not be persisted. The only valid value is All.").DataType("string")).
				Param(ws.QueryParameter("fieldValidation", "How unknown, duplicate and mis-cased fields of the body are treated: Ignore, Warn (the default) or Strict.").DataType("string")).
				Reads(optionSamples[action], bodyDoc).
				Returns(http.StatusAccepted, "Accepted", kubevirtv1.VirtualMachine{}).
				Writes(kubevirtv1.VirtualMachine{})
			route.ParameterNamed("body").Required(bodyRequired)
			// As the generic installer marks its routes, for the OpenAPI
			// extensions x-kubernetes-action and -group-version-kind.
			route.Metadata(endpoints.RouteMetaGVK, metav1.GroupVersionKind{
				Group: kubevirtv1.SchemeGroupVersion.Group, Version: kubevirtv1.SchemeGroupVersion.Version, Kind: "VirtualMachine",
			})
			route.Metadata(endpoints.RouteMetaAction, "put")
			ws.Route(route)
		}
		ws.Route(ws.GET("/version").
			To(serveVersion).
			Doc("get the version of vm-apiserver").
			Operation("getSubresourcesVersion" + strings.ToUpper(gv.Version[:1]) + gv.Version[1:]).
			Produces(restful.MIME_JSON))
		s.Handler.GoRestfulContainer.Add(ws)
		s.AggregatedDiscoveryGroupManager.AddGroupVersion(gv.Group, apidiscoveryv2.APIVersionDiscovery{
			Version:   gv.Version,
			Resources: aggregated,
			Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent,
		})
	}
	return nil
}

// actionHandler serves PUT .../virtualmachines/{name}/{action}: it reads the
// options, has the registry perform the action, records the Event and the
// metrics, and answers.
type actionHandler struct {
	actions *vmstorage.ActionStorage
	events  events.EventRecorder // where the Event of each written action goes
}

// route is the handler of one action's route.
func (h *actionHandler) route(action virtualmachine.Action) restful.RouteFunction {
	return func(req *restful.Request, resp *restful.Response) {
		serve := h.serve
		if virtualmachine.IsVolumeAction(action) {
			serve = h.serveVolume
		}
		vm, err := serve(req.Request, req.PathParameter("namespace"), req.PathParameter("name"), action)
		if err != nil {
			responsewriters.ErrorNegotiated(err, scheme.Codecs, kubevirtv1.SchemeGroupVersion, resp.ResponseWriter, req.Request)
			return
		}
		// A client that reads no answer, as KubeVirt's clients do, can ask
		// for none and save the server encoding the VM.
		if prefersMinimal(req.Request.Header) {
			resp.Header().Set(headerPreferenceApplied, preferReturnMinimal)
			resp.WriteHeader(http.StatusAccepted)
			return
		}
		responsewriters.WriteObjectNegotiated(scheme.Codecs, negotiation.DefaultEndpointRestrictions,
			kubevirtv1.SchemeGroupVersion, resp.ResponseWriter, req.Request, http.StatusAccepted, vm, false)
	}
}

// serve performs action on the VM namespace/name as req asks.
func (h *actionHandler) serve(req *http.Request, namespace, name string, action virtualmachine.Action) (_ runtime.Object, err error) {
	started := time.Now()
	// denied is set when an admission plugin refuses the write.
	var dryRun, denied bool
	defer func() { observeAction(action, started, dryRun, denied, err) }()
	opts, warnings, err := actionOptions(req, action)
	if err != nil {
		return nil, err
	}
	ctx := request.WithNamespace(req.Context(), namespace)
	for _, w := range warnings {
		warning.AddWarning(ctx, "", w)
	}
	dryRun = len(opts.DryRun) > 0
	var vm runtime.Object
	vm, denied, err = h.actions.Act(ctx, name, action, opts, managerFromUserAgent(req.UserAgent()))
	if err != nil {
		return nil, err
	}
	if !dryRun {
		recordAction(ctx, h.events, vm, action, "")
	}
	return vm, nil
}

// serveVolume records the volume request of an addvolume or removevolume
// on the VM namespace/name as req asks.
func (h *actionHandler) serveVolume(req *http.Request, namespace, name string, action virtualmachine.Action) (_ runtime.Object, err error) {
	started := time.Now()
	var dryRun, denied bool
	defer func() { observeAction(action, started, dryRun, denied, err) }()
	volumeRequest, dryRunValues, warnings, err := volumeOptions(req, action)
	if err != nil {
		return nil, err
	}
	ctx := request.WithNamespace(req.Context(), namespace)
	for _, w := range warnings {
		warning.AddWarning(ctx, "", w)
	}
	dryRun = len(dryRunValues) > 0
	var vm runtime.Object
	vm, denied, err = h.actions.ActVolume(ctx, name, volumeRequest, dryRunValues, managerFromUserAgent(req.UserAgent()))
	if err != nil {
		return nil, err
	}
	if !dryRun {
		volume := ""
		if volumeRequest.AddVolumeOptions != nil {
			volume = volumeRequest.AddVolumeOptions.Name
		} else {
			volume = volumeRequest.RemoveVolumeOptions.Name
		}
		recordAction(ctx, h.events, vm, action, volume)
	}
	return vm, nil
}

// recordAction records an Event on the VM that says who asked for the
// action, as "stop requested by alice", and for a volume action which volume,
// as "addvolume of data requested by alice". A write of virtualmachines/scale
// records the Event of the start or the stop it made.
func recordAction(ctx context.Context, recorder events.EventRecorder, obj runtime.Object, action virtualmachine.Action, volume string) {
	vm, ok := obj.(*kubevirt.VirtualMachine)
	if recorder == nil || !ok {
		return
	}
	requester := "an unknown user"
	if u, ok := request.UserFrom(ctx); ok {
		requester = u.GetName()
	}
	reason := actionEvents[action]
	what := string(action)
	if volume != "" {
		what += " of " + volume
	}
	recorder.Eventf(&corev1.ObjectReference{
		APIVersion: kubevirtv1.SchemeGroupVersion.String(), Kind: "VirtualMachine",
		Namespace: vm.Namespace, Name: vm.Name, UID: vm.UID, ResourceVersion: vm.ResourceVersion,
	}, nil, corev1.EventTypeNormal, reason.reason, reason.action, "%s requested by %s", what, requester)
}

// managerFromUserAgent names the field manager of an action after the
// product in the User-Agent ("kubectl-vm/v0.1.0 ..." is "kubectl-vm"), with
// unprintable characters dropped and at most 128 bytes, as the generic
// handlers of k8s.io/apiserver do for updates without ?fieldManager.
func managerFromUserAgent(userAgent string) string {
	product, _, _ := strings.Cut(userAgent, "/")
	if printableASCII(product) && len(product) <= maxFieldManagerLength {
		return product
	}
	var b strings.Builder
	for _, r := range product {
		if !unicode.IsPrint(r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > maxFieldManagerLength {
			break
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}

// printableASCII reports whether s is not empty and every byte of it is
// printable ASCII: the name of almost every client, kept as it is.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return s != ""
}

// maxFieldManagerLength is the longest manager name Kubernetes accepts.
const maxFieldManagerLength = 128
