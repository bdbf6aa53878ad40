// Package standalone holds what vm-apiserver runs on its own when no
// Kubernetes cluster is configured: the embedded etcd, and its own security,
// that is a private CA in the data dir, a serving certificate, an admin client
// certificate in group system:masters, a kubeconfig for it, and the
// authenticator and authorizer that trust only that CA and group.
package standalone

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

// File names inside the data dir.
const (
	CAFile          = "ca.crt"
	caKeyFile       = "ca.key"
	ServingCertFile = "serving.crt"
	ServingKeyFile  = "serving.key"
	AdminCertFile   = "admin.crt"
	AdminKeyFile    = "admin.key"
	KubeconfigFile  = "admin.kubeconfig"
	// AdminUser is the common name of the generated admin certificate.
	AdminUser = "vm-apiserver-admin"
)

// validity of every generated certificate.
const validity = 365 * 24 * time.Hour

// Credentials are the paths of the standalone PKI in a data dir.
type Credentials struct {
	Dir string
}

// Path returns the path of a file of the PKI.
func (c Credentials) Path(name string) string { return filepath.Join(c.Dir, name) }

// Ensure creates, on first start, the CA, the serving certificate for hosts
// and the admin client certificate. Files that exist are kept, so clients
// keep working across restarts; a serving certificate that does not cover
// hosts is issued again from the same CA.
func Ensure(dir string, hosts []string) (Credentials, error) {
	c := Credentials{Dir: dir}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return c, fmt.Errorf("creating data dir: %w", err)
	}
	caCert, caKey, err := c.ensureCA()
	if err != nil {
		return c, err
	}
	if !certCovers(c.Path(ServingCertFile), hosts) {
		if err := c.issue(caCert, caKey, ServingCertFile, ServingKeyFile, servingTemplate(hosts)); err != nil {
			return c, err
		}
	}
	if !exists(c.Path(AdminCertFile)) || !exists(c.Path(AdminKeyFile)) {
		tmpl := &x509.Certificate{
			Subject:     pkix.Name{CommonName: AdminUser, Organization: []string{user.SystemPrivilegedGroup}},
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		if err := c.issue(caCert, caKey, AdminCertFile, AdminKeyFile, tmpl); err != nil {
			return c, err
		}
	}
	return c, nil
}

// WriteKubeconfig writes admin.kubeconfig for a server reachable at serverURL.
// It is rewritten on every start because the address may change.
func (c Credentials) WriteKubeconfig(serverURL string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["vm-apiserver"] = &clientcmdapi.Cluster{Server: serverURL, CertificateAuthority: c.Path(CAFile)}
	cfg.AuthInfos[AdminUser] = &clientcmdapi.AuthInfo{ClientCertificate: c.Path(AdminCertFile), ClientKey: c.Path(AdminKeyFile)}
	cfg.Contexts["vm-apiserver"] = &clientcmdapi.Context{Cluster: "vm-apiserver", AuthInfo: AdminUser, Namespace: "default"}
	cfg.CurrentContext = "vm-apiserver"
	return clientcmd.WriteToFile(*cfg, c.Path(KubeconfigFile))
}

func (c Credentials) ensureCA() (*x509.Certificate, crypto.Signer, error) {
	if exists(c.Path(CAFile)) && exists(c.Path(caKeyFile)) {
		certs, err := cert.CertsFromFile(c.Path(CAFile))
		if err != nil {
			return nil, nil, err
		}
		key, err := keyutil.PrivateKeyFromFile(c.Path(caKeyFile))
		if err != nil {
			return nil, nil, err
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, nil, fmt.Errorf("%s does not hold a signing key", caKeyFile)
		}
		return certs[0], signer, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	ca, err := cert.NewSelfSignedCACert(cert.Config{CommonName: "vm-apiserver-ca", NotBefore: time.Now().Add(-time.Hour)}, key)
	if err != nil {
		return nil, nil, err
	}
	if err := writePair(c.Path(CAFile), c.Path(caKeyFile), ca, key); err != nil {
		return nil, nil, err
	}
	return ca, key, nil
}

func (c Credentials) issue(ca *x509.Certificate, caKey crypto.Signer, certFile, keyFile string, tmpl *x509.Certificate) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	if tmpl.SerialNumber, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)); err != nil {
		return err
	}
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(validity)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	return writePair(c.Path(certFile), c.Path(keyFile), leaf, key)
}

func servingTemplate(hosts []string) *x509.Certificate {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "vm-apiserver"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return tmpl
}

// certCovers reports whether the certificate at path is valid for another
// day and names every host.
func certCovers(path string, hosts []string) bool {
	certs, err := cert.CertsFromFile(path)
	if err != nil || time.Until(certs[0].NotAfter) < 24*time.Hour {
		return false
	}
	for _, h := range hosts {
		if certs[0].VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// writePair writes the key (owner-only) and then the certificate, so a crash
// between the two writes leaves no certificate without its key.
func writePair(certPath, keyPath string, crt *x509.Certificate, key crypto.PrivateKey) error {
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return err
	}
	certPEM, err := cert.EncodeCertificates(crt)
	if err != nil {
		return err
	}
	if err := keyutil.WriteKey(keyPath, keyPEM); err != nil {
		return err
	}
	return cert.WriteCert(certPath, certPEM)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}
