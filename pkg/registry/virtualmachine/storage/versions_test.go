package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/registry/rest"
	etcd3testing "k8s.io/apiserver/pkg/storage/etcd3/testing"

	kubevirtv1 "github.com/vm-apiserver/vm-apiserver/pkg/apis/kubevirt/v1"
)

// installedVMs serves virtualmachines and their status the way the generic
// API server does: the same storages installed by k8s.io/apiserver's
// installer for every version of kubevirt.io, with the field manager on the
// server's OpenAPI models.
func installedVMs(t *testing.T, vms *VirtualMachineStorage) http.Handler {
	t.Helper()
	return serveStorages(t, map[string]rest.Storage{
		"virtualmachines":        vms.VirtualMachine,
		"virtualmachines/status": vms.Status,
	}, nil, "admin")
}

// storedJSON is the value etcd holds for the VM name in namespace ns.
func storedJSON(t *testing.T, server *etcd3testing.EtcdTestServer, ns, name string) []byte {
	t.Helper()
	resp, err := server.V3Client.Client.Get(context.Background(), etcd3testing.PathPrefix(), clientv3.WithPrefix())
	require.NoError(t, err)
	for _, kv := range resp.Kvs {
		if strings.HasSuffix(string(kv.Key), "/virtualmachines/"+ns+"/"+name) {
			return kv.Value
		}
	}
	require.FailNow(t, "not in etcd", "%s/%s", ns, name)
	return nil
}

const seedJSON = `{"apiVersion":%q,"kind":"VirtualMachine","metadata":{"name":%q},` +
	`"spec":{"runStrategy":"Halted","template":{"spec":{"domain":{"devices":{}}}}},` +
	`"status":{"printableStatus":"Running"}}`

// vmBody is a valid VM named name in apiVersion, with a status that the
// main resource drops.
func vmBody(apiVersion, name string) string {
	return fmt.Sprintf(seedJSON, apiVersion, name)
}

// TestVersionsShareOneStore writes in each version and reads in each: the
// stored bytes are always kubevirt.io/v1, and every answer carries the
// apiVersion of its request.
func TestVersionsShareOneStore(t *testing.T) {
	vms, server := newTestStorageAndEtcd(t, nil)
	h := installedVMs(t, vms)
	path := func(version, name, sub string) string {
		p := "/apis/kubevirt.io/" + version + "/namespaces/" + namespace + "/virtualmachines"
		if name != "" {
			p += "/" + name
		}
		if sub != "" {
			p += "/" + sub
		}
		return p
	}
	apiVersionOf := func(t *testing.T, body []byte) string {
		t.Helper()
		var tm metav1.TypeMeta
		require.NoError(t, json.Unmarshal(body, &tm))
		return tm.APIVersion
	}

	for _, write := range kubevirtv1.Versions {
		t.Run("written in "+write.Version, func(t *testing.T) {
			name := "vm-" + write.Version
			rec := serveJSON(h, http.MethodPost, path(write.Version, "", ""), vmBody(write.String(), name), "application/json")
			require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
			assert.Equal(t, write.String(), apiVersionOf(t, rec.Body.Bytes()))

			stored := storedJSON(t, server, namespace, name)
			assert.Equal(t, "kubevirt.io/v1", apiVersionOf(t, stored), "stored as v1: %s", stored)
			assert.NotContains(t, string(stored), "Running", "the main resource drops status")

			for _, read := range kubevirtv1.Versions {
				rec := serveJSON(h, http.MethodGet, path(read.Version, name, ""), "", "")
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				assert.Equal(t, read.String(), apiVersionOf(t, rec.Body.Bytes()), "read in %s", read.Version)

				rec = serveJSON(h, http.MethodGet, path(read.Version, "", ""), "", "")
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				assert.Equal(t, read.String(), apiVersionOf(t, rec.Body.Bytes()), "list in %s", read.Version)
			}
		})
	}

	tests := []struct {
		name        string
		method      string
		sub         string
		contentType string
		body        string
		want        string // in the stored bytes afterwards
	}{
		{"merge patch", http.MethodPatch, "", "application/merge-patch+json", `{"spec":{"runStrategy":"Manual"}}`, `"runStrategy":"Manual"`},
		{"JSON patch", http.MethodPatch, "", "application/json-patch+json", `[{"op":"replace","path":"/spec/runStrategy","value":"Always"}]`, `"runStrategy":"Always"`},
		{"strategic merge patch", http.MethodPatch, "", "application/strategic-merge-patch+json", `{"metadata":{"labels":{"tier":"gold"}}}`, `"tier":"gold"`},
		{"status merge patch", http.MethodPatch, "status", "application/merge-patch+json", `{"status":{"printableStatus":"Starting"}}`, `"printableStatus":"Starting"`},
	}
	for _, tt := range tests {
		t.Run(tt.name+" in v1alpha3", func(t *testing.T) {
			rec := serveJSON(h, tt.method, path("v1alpha3", "vm-v1", tt.sub), tt.body, tt.contentType)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			assert.Equal(t, "kubevirt.io/v1alpha3", apiVersionOf(t, rec.Body.Bytes()))
			stored := storedJSON(t, server, namespace, "vm-v1")
			assert.Equal(t, "kubevirt.io/v1", apiVersionOf(t, stored))
			assert.Contains(t, string(stored), tt.want)
		})
	}

	t.Run("server-side apply in v1alpha3 records its version and owns no status", func(t *testing.T) {
		rec := serveJSON(h, http.MethodPatch, path("v1alpha3", "applied", "")+"?fieldManager=pipeline",
			vmBody("kubevirt.io/v1alpha3", "applied"), "application/apply-patch+yaml")
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		var got metav1.PartialObjectMetadata
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
		require.Len(t, got.ManagedFields, 1)
		assert.Equal(t, "pipeline", got.ManagedFields[0].Manager)
		assert.Equal(t, "kubevirt.io/v1alpha3", got.ManagedFields[0].APIVersion)
		require.NotNil(t, got.ManagedFields[0].FieldsV1)
		assert.Contains(t, got.ManagedFields[0].FieldsV1.GetRawString(), `"f:runStrategy"`)
		assert.NotContains(t, got.ManagedFields[0].FieldsV1.GetRawString(), `"f:status"`, "status is reset in v1alpha3 as in v1")
		assert.Equal(t, "kubevirt.io/v1", apiVersionOf(t, storedJSON(t, server, namespace, "applied")))
	})
}

func serveJSON(h http.Handler, method, target, body, contentType string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
