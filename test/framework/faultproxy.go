package framework

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Direction picks the bytes a fault applies to.
type Direction uint8

const (
	// ToTarget is what the client sends to the target.
	ToTarget Direction = 1 << iota
	// FromTarget is what the target sends back.
	FromTarget
	// BothDirections is both.
	BothDirections = ToTarget | FromTarget
)

// String names the direction in messages.
func (d Direction) String() string {
	switch d {
	case ToTarget:
		return "to target"
	case FromTarget:
		return "from target"
	case BothDirections:
		return "both directions"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// FaultProxy is a TCP proxy on loopback that forwards every connection to a
// target and injects faults on command: blackhole (bytes accepted and
// dropped, per direction or per source) and connection resets. Heal ends
// every fault. A fault applies to the connections open when it is set and
// to those accepted later.
type FaultProxy struct {
	// Addr is where it listens, 127.0.0.1:PORT; Target is where it forwards.
	Addr   string
	Target string

	ln net.Listener

	mu sync.Mutex
	// blackholed is per direction, index 0: ToTarget, 1: FromTarget.
	blackholed [2]bool
	resetting  bool // reset every new connection
	isolated   map[string]bool
	identify   func(head []byte) string
	conns      map[*proxyConn]struct{}
	closed     bool
	wg         sync.WaitGroup
}

// proxyConn is one proxied connection.
type proxyConn struct {
	client, target net.Conn
	once           sync.Once
	// lost is set once a blackhole dropped bytes: the stream is then
	// broken, and Heal resets the connection.
	lost bool
	// source is what Identify named it.
	source string
}

// NewFaultProxy listens on a free loopback port and forwards to target.
func NewFaultProxy(target string) (*FaultProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &FaultProxy{
		Addr: ln.Addr().String(), Target: target, ln: ln,
		conns: map[*proxyConn]struct{}{},
	}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// StartFaultProxy starts a proxy for a test; it is closed when the test ends.
func StartFaultProxy(t testing.TB, target string) *FaultProxy {
	t.Helper()
	p, err := NewFaultProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// URL is the proxy's address as a URL of the given scheme.
func (p *FaultProxy) URL(scheme string) string { return scheme + "://" + p.Addr }

// Blackhole drops the bytes of d: they are read and thrown away, so the
// sender sees no error and the receiver gets nothing. New connections are
// still accepted.
func (p *FaultProxy) Blackhole(d Direction) {
	p.update(func() {
		for i := range p.blackholed {
			if d&(1<<i) != 0 {
				p.blackholed[i] = true
			}
		}
	})
}

// SetIdentify makes the proxy name the source of each new connection from
// the first bytes its client sends (up to the end of the HTTP headers,
// 8 KiB, or what came within a second), for BlackholeSource.
func (p *FaultProxy) SetIdentify(f func(head []byte) string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.identify = f
}

// BlackholeSource drops, in both directions, the bytes of every connection
// whose source Identify named src, open or new, until Heal.
func (p *FaultProxy) BlackholeSource(src string) {
	p.update(func() {
		if p.isolated == nil {
			p.isolated = map[string]bool{}
		}
		p.isolated[src] = true
	})
}

// Reset resets (TCP RST) every open connection, on both sides, and, until
// Heal, every new one as soon as it is accepted.
func (p *FaultProxy) Reset() {
	var conns []*proxyConn
	p.update(func() {
		p.resetting = true
		conns = p.snapshot()
	})
	for _, c := range conns {
		c.reset()
	}
}

// Heal ends every fault: bytes pass in both directions and new connections
// are forwarded. Connections that lost bytes to a blackhole
// are reset, since their streams are broken.
func (p *FaultProxy) Heal() {
	var broken []*proxyConn
	p.update(func() {
		p.blackholed = [2]bool{}
		p.resetting = false
		p.isolated = nil
		for c := range p.conns {
			if c.lost {
				broken = append(broken, c)
			}
		}
	})
	for _, c := range broken {
		c.reset()
	}
}

// Close stops listening and closes every connection.
func (p *FaultProxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	conns := p.snapshot()
	p.mu.Unlock()
	_ = p.ln.Close()
	for _, c := range conns {
		c.close()
	}
	p.wg.Wait()
}

// update changes the state under the lock.
func (p *FaultProxy) update(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f()
}

func (p *FaultProxy) snapshot() []*proxyConn {
	out := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		out = append(out, c)
	}
	return out
}

func (p *FaultProxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		resetting, closed := p.resetting, p.closed
		p.mu.Unlock()
		if resetting || closed {
			resetConn(client)
			continue
		}
		p.wg.Add(1)
		go p.serve(client)
	}
}

func (p *FaultProxy) serve(client net.Conn) {
	defer p.wg.Done()
	target, err := net.DialTimeout("tcp", p.Target, 10*time.Second)
	if err != nil {
		resetConn(client)
		return
	}
	c := &proxyConn{client: client, target: target}
	var head []byte
	p.mu.Lock()
	identify := p.identify
	p.mu.Unlock()
	if identify != nil {
		head = readHead(client)
		c.source = identify(head)
	}
	p.mu.Lock()
	if p.closed || p.resetting {
		p.mu.Unlock()
		c.reset()
		return
	}
	p.conns[c] = struct{}{}
	p.mu.Unlock()
	var pumps sync.WaitGroup
	pumps.Add(2)
	go func() { defer pumps.Done(); p.pump(c, 0, head, client, target) }()
	go func() { defer pumps.Done(); p.pump(c, 1, nil, target, client) }()
	pumps.Wait()
	c.close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// pump copies one direction (index i of blackholed) from src to dst, and
// drops what a blackhole takes. When either side ends, the connection is
// closed; an EOF is passed on as a half-close.
func (p *FaultProxy) pump(c *proxyConn, i int, head []byte, src, dst net.Conn) {
	buf := make([]byte, 32<<10)
	eof := false
	for {
		data := head
		var err error
		if data != nil {
			head = nil
		} else {
			var n int
			n, err = src.Read(buf)
			data = buf[:n]
		}
		if len(data) > 0 {
			p.mu.Lock()
			closed := p.closed
			drop := p.blackholed[i] || c.source != "" && p.isolated[c.source]
			if drop {
				c.lost = true
			}
			p.mu.Unlock()
			if closed {
				break
			}
			if !drop {
				if _, werr := dst.Write(data); werr != nil {
					break
				}
			}
		}
		if err != nil {
			eof = errors.Is(err, io.EOF)
			break
		}
	}
	if tc, ok := dst.(*net.TCPConn); ok && eof {
		// Pass the half-close on; the other direction may go on.
		_ = tc.CloseWrite()
		return
	}
	c.close()
}

// readHead reads what a client sends first: up to the end of the HTTP
// headers, 8 KiB, or what arrives within a second.
func readHead(conn net.Conn) []byte {
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	defer func() { _ = conn.SetReadDeadline(time.Time{}) }()
	buf := make([]byte, 0, 8<<10)
	for len(buf) < cap(buf) && !bytes.Contains(buf, []byte("\r\n\r\n")) {
		n, err := conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			break
		}
	}
	return buf
}

// reset closes both sides with a TCP RST.
func (c *proxyConn) reset() {
	c.once.Do(func() {
		resetConn(c.client)
		resetConn(c.target)
	})
}

func (c *proxyConn) close() {
	c.once.Do(func() {
		_ = c.client.Close()
		_ = c.target.Close()
	})
}

// resetConn closes a connection with a RST instead of a FIN.
func resetConn(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
