package certauth

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// The ConfigMap in which kube-apiserver publishes the CAs that extension
// API servers trust, and the key of its client CA.
const (
	authConfigMapNamespace = metav1.NamespaceSystem
	authConfigMapName      = "extension-apiserver-authentication"
	clientCAKey            = "client-ca-file"
)

// PinClientCA decides the client CA provider of the delegating
// authentication options before they are applied, the way their ApplyTo
// would (--client-ca-file, or else the client CA that kube-apiserver
// publishes in kube-system/extension-apiserver-authentication), and sets it
// as their ClientCert.CAContentProvider. ApplyTo then uses this very
// provider for the TLS handshake and its authenticator, and the server runs
// it; the returned provider is the one to give New, so that both verify
// against the same bundle at every moment. It returns nil when the options
// name no client CA and there is no cluster to look one up in.
func PinClientCA(opts *genericoptions.DelegatingAuthenticationOptions) (dynamiccertificates.CAContentProvider, error) {
	if opts == nil {
		return nil, nil
	}
	if p := opts.ClientCert.CAContentProvider; p != nil {
		return p, nil
	}
	var provider dynamiccertificates.CAContentProvider
	switch {
	case opts.ClientCert.ClientCA != "":
		p, err := dynamiccertificates.NewDynamicCAContentFromFile("client-ca-bundle", opts.ClientCert.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("unable to load client CA provider: %w", err)
		}
		provider = p
	case !opts.SkipInClusterLookup:
		client, err := delegationClient(opts)
		if err != nil || client == nil {
			return nil, err
		}
		p, err := dynamiccertificates.NewDynamicCAFromConfigMapController("client-ca", authConfigMapNamespace, authConfigMapName, clientCAKey, client)
		if err != nil {
			return nil, fmt.Errorf("unable to load configmap based client CA file: %w", err)
		}
		provider = p
	default:
		return nil, nil
	}
	opts.ClientCert.CAContentProvider = provider
	return provider, nil
}

// delegationClient is the client the delegating options reach the cluster
// with: --authentication-kubeconfig, or else the in-cluster configuration,
// which may be absent when the options make the kubeconfig optional.
func delegationClient(opts *genericoptions.DelegatingAuthenticationOptions) (kubernetes.Interface, error) {
	var config *rest.Config
	var err error
	if opts.RemoteKubeConfigFile != "" {
		rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: opts.RemoteKubeConfigFile}
		config, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	} else {
		config, err = rest.InClusterConfig()
		if err != nil && opts.RemoteKubeConfigFileOptional {
			return nil, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("failed to get delegated authentication kubeconfig: %w", err)
	}
	if opts.CustomRoundTripperFn != nil {
		config.Wrap(opts.CustomRoundTripperFn)
	}
	return kubernetes.NewForConfig(config)
}
