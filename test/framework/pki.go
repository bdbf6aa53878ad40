package framework

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"path/filepath"
	"time"

	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

// KeyPair is a certificate and its private key (ECDSA P-256), parsed and
// in PEM form.
type KeyPair struct {
	Cert    *x509.Certificate
	Key     crypto.Signer
	CertPEM []byte
	KeyPEM  []byte
}

// CA is a certificate authority that issues certificates for tests.
type CA struct {
	*KeyPair
}

// CertConfig describes a certificate to issue: subject (CommonName, and
// Organization, the groups of a client), subject alternative names, the
// extended key usages and the start of the validity, as client-go's
// certificates are described.
type CertConfig struct {
	certutil.Config
	// NotAfter ends the validity; zero means a day from now. A zero
	// NotBefore means two days before NotAfter.
	NotAfter time.Time
}

// The key and certificate functions below panic if a key cannot be made or
// a certificate cannot be signed, as httptest.NewServer panics when it
// cannot listen: that happens only with a broken crypto/rand or a
// malformed CertConfig.

// NewCA returns a self-signed CA named cn.
func NewCA(cn string) *CA {
	key := newKey()
	cert, err := certutil.NewSelfSignedCACert(certutil.Config{CommonName: cn}, key)
	if err != nil {
		panic(fmt.Sprintf("self-signing CA %s: %v", cn, err))
	}
	return &CA{KeyPair: newKeyPair(cert, key)}
}

// LoadCA reads a CA from PEM files, e.g. the one vm-apiserver keeps in its
// data dir.
func LoadCA(certFile, keyFile string) (*CA, error) {
	certs, err := certutil.CertsFromFile(certFile)
	if err != nil {
		return nil, err
	}
	key, err := keyutil.PrivateKeyFromFile(keyFile)
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s holds no signing key", keyFile)
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return nil, err
	}
	certPEM, err := certutil.EncodeCertificates(certs[0])
	if err != nil {
		return nil, err
	}
	return &CA{KeyPair: &KeyPair{Cert: certs[0], Key: signer, CertPEM: certPEM, KeyPEM: keyPEM}}, nil
}

// Issue signs a certificate described by cfg with a new key.
func (ca *CA) Issue(cfg CertConfig) *KeyPair {
	key := newKey()
	notAfter := cfg.NotAfter
	if notAfter.IsZero() {
		notAfter = time.Now().Add(24 * time.Hour)
	}
	notBefore := cfg.NotBefore
	if notBefore.IsZero() {
		notBefore = notAfter.Add(-48 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: cfg.CommonName, Organization: cfg.Organization},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  cfg.Usages,
		DNSNames:     cfg.AltNames.DNSNames,
		IPAddresses:  cfg.AltNames.IPs,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		panic(fmt.Sprintf("signing %s: %v", cfg.CommonName, err))
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return newKeyPair(cert, key)
}

// ClientCert issues a client certificate for user cn in groups.
func (ca *CA) ClientCert(cn string, groups ...string) *KeyPair {
	return ca.Issue(CertConfig{Config: certutil.Config{
		CommonName:   cn,
		Organization: groups,
		Usages:       []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}})
}

// ServingCert issues a serving certificate named cn for hosts: each is an
// IP address or a DNS name.
func (ca *CA) ServingCert(cn string, hosts ...string) *KeyPair {
	var alt certutil.AltNames
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			alt.IPs = append(alt.IPs, ip)
		} else {
			alt.DNSNames = append(alt.DNSNames, h)
		}
	}
	return ca.Issue(CertConfig{Config: certutil.Config{
		CommonName: cn,
		AltNames:   alt,
		Usages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}})
}

// Pool is a certificate pool holding the CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Write stores the pair as dir/name.crt (mode 0644) and dir/name.key
// (mode 0600).
func (kp *KeyPair) Write(dir, name string) (certFile, keyFile string, err error) {
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := certutil.WriteCert(certFile, kp.CertPEM); err != nil {
		return "", "", err
	}
	if err := keyutil.WriteKey(keyFile, kp.KeyPEM); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

// TLSCertificate is the pair for a tls.Config.
func (kp *KeyPair) TLSCertificate() *tls.Certificate {
	return &tls.Certificate{Certificate: [][]byte{kp.Cert.Raw}, PrivateKey: kp.Key, Leaf: kp.Cert}
}

// WriteServiceAccountKeys writes a new key pair for signing and verifying
// service account tokens, as kube-apiserver's
// --service-account-signing-key-file (dir/sa.key) and
// --service-account-key-file (dir/sa.pub) read them.
func WriteServiceAccountKeys(dir string) (pub, priv string, err error) {
	key := newKey()
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return "", "", err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return "", "", err
	}
	priv, pub = filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	if err := keyutil.WriteKey(priv, keyPEM); err != nil {
		return "", "", err
	}
	if err := certutil.WriteCert(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})); err != nil {
		return "", "", err
	}
	return pub, priv, nil
}

func newKey() *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(fmt.Sprintf("generating a key: %v", err))
	}
	return key
}

func newKeyPair(cert *x509.Certificate, key *ecdsa.PrivateKey) *KeyPair {
	certPEM, err := certutil.EncodeCertificates(cert)
	if err != nil {
		panic(err)
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		panic(err)
	}
	return &KeyPair{Cert: cert, Key: key, CertPEM: certPEM, KeyPEM: keyPEM}
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		panic(err)
	}
	return n
}
