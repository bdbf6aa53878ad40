package framework

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// KitDeployment is the deployment kit's Deployment of vm-apiserver,
// relative to the repository's root.
const KitDeployment = "artifacts/base/deployment.yaml"

// KitContainer is the name of vm-apiserver's container in KitDeployment.
const KitContainer = "vm-apiserver"

// KitWiringFlags are the flags of KitDeployment that say where the server
// runs in a cluster: its port, serving certificate and etcd. A server run
// anywhere else (on loopback, say) sets these for itself; every other flag
// of the kit is a setting of the server as shipped.
var KitWiringFlags = []string{"--secure-port", "--tls-cert-file", "--tls-private-key-file", "--etcd-servers"}

// KitServerSettings are the environment (NAME=value) and the flags of
// vm-apiserver as the kit ships it, read from KitDeployment under root,
// without KitWiringFlags: what a server run elsewhere needs to run as
// shipped.
func KitServerSettings(root string) (env, args []string, err error) {
	path := filepath.Join(root, KitDeployment)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict(data, &d); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	i := slices.IndexFunc(d.Spec.Template.Spec.Containers, func(c corev1.Container) bool { return c.Name == KitContainer })
	if i < 0 {
		return nil, nil, fmt.Errorf("%s: no container %q", path, KitContainer)
	}
	c := d.Spec.Template.Spec.Containers[i]
	if len(c.Command) > 0 {
		return nil, nil, fmt.Errorf("%s: container %q has a command; only args are understood", path, KitContainer)
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			return nil, nil, fmt.Errorf("%s: %s comes from the cluster (valueFrom)", path, e.Name)
		}
		env = append(env, e.Name+"="+e.Value)
	}
	for _, a := range c.Args {
		name, _, _ := strings.Cut(a, "=")
		if slices.Contains(KitWiringFlags, name) {
			continue
		}
		if !strings.HasPrefix(a, "--") || !strings.Contains(a, "=") {
			return nil, nil, fmt.Errorf("%s: argument %q is not --flag=value", path, a)
		}
		args = append(args, a)
	}
	return env, args, nil
}
