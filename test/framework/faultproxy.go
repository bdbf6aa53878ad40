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

// flowMode is what a proxy does with the bytes of one direction.
type flowMode uint8

const (
	flowPass      flowMode = iota
	flowBlackhole          // read and dropped
	flowStall              // left unread until the mode changes
)

// flowState is the fault of one direction.
type flowState struct {
	mode  flowMode
	delay time.Duration
}

// FaultProxy is a TCP proxy on loopback that forwards every connection to a
// target and injects faults on command: blackhole (bytes accepted and
// dropped), stall (bytes held back), delay (per direction), and connection
// resets. Heal ends every fault. A fault applies to the connections open
// when it is set and to those accepted later.
type FaultProxy struct {
	// Addr is where it listens, 127.0.0.1:PORT; Target is where it forwards.
	Addr   string
	Target string

	ln net.Listener

	mu        sync.Mutex
	flows     [2]flowState // index 0: ToTarget, 1: FromTarget
	resetting bool         // reset every new connection
	isolated  map[string]bool
	identify  func(head []byte) string
	changed   chan struct{}
	conns     map[*proxyConn]struct{}
	closed    bool
	wg        sync.WaitGroup
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
		changed: make(chan struct{}), conns: map[*proxyConn]struct{}{},
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
func (p *FaultProxy) Blackhole(d Direction) { p.setMode(d, flowBlackhole) }

// Stall holds the bytes of d back: the proxy stops reading them, so they
// queue in the kernel and the sender blocks once the buffers are full.
// They are delivered when the stall ends.
func (p *FaultProxy) Stall(d Direction) { p.setMode(d, flowStall) }

// Delay delivers the bytes of d late by the given duration (0: on time).
func (p *FaultProxy) Delay(d Direction, by time.Duration) {
	p.update(func() {
		for i := range p.flows {
			if d&(1<<i) != 0 {
				p.flows[i].delay = by
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
	p.update(func() {}) // wakes stalled readers, which then see the reset
}

// Heal ends every fault: bytes pass in both directions without delay and
// new connections are forwarded. Connections that lost bytes to a blackhole
// are reset, since their streams are broken.
func (p *FaultProxy) Heal() {
	var broken []*proxyConn
	p.update(func() {
		p.flows = [2]flowState{}
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

// Conns is the number of open connections.
func (p *FaultProxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
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
	p.update(func() {}) // wakes stalled readers
	p.wg.Wait()
}

func (p *FaultProxy) setMode(d Direction, m flowMode) {
	p.update(func() {
		for i := range p.flows {
			if d&(1<<i) != 0 {
				p.flows[i].mode = m
			}
		}
	})
}

// update changes the state under the lock and wakes the waiting readers.
func (p *FaultProxy) update(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f()
	close(p.changed)
	p.changed = make(chan struct{})
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

// chunk is bytes read at one time, due at a later one.
type chunk struct {
	data []byte
	due  time.Time
}

// pump copies one direction (flow index i) from src to dst, applying the
// faults. A reader holds what it read while the direction is stalled; a
// writer delivers each chunk at its due time, so a delay adds latency
// without cutting throughput. When either side ends, the connection is
// closed.
func (p *FaultProxy) pump(c *proxyConn, i int, head []byte, src, dst net.Conn) {
	queue := make(chan chunk, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ch := range queue {
			if d := time.Until(ch.due); d > 0 {
				time.Sleep(d)
			}
			if _, err := dst.Write(ch.data); err != nil {
				c.close()
				for range queue {
				}
				return
			}
		}
	}()
	eof := false
	for p.waitNotStalled(i) {
		var (
			buf []byte
			n   int
			err error
		)
		if head != nil {
			buf, n, head = head, len(head), nil
		} else {
			buf = make([]byte, 32<<10)
			n, err = src.Read(buf)
		}
		if n > 0 {
			// The mode may have changed while Read waited.
			if !p.waitNotStalled(i) {
				break
			}
			p.mu.Lock()
			f := p.flows[i]
			if c.source != "" && p.isolated[c.source] {
				f.mode = flowBlackhole
			}
			if f.mode == flowBlackhole {
				c.lost = true
			}
			p.mu.Unlock()
			if f.mode != flowBlackhole {
				queue <- chunk{data: buf[:n], due: time.Now().Add(f.delay)}
			}
		}
		if err != nil {
			eof = errors.Is(err, io.EOF)
			break
		}
	}
	close(queue)
	<-done
	if tc, ok := dst.(*net.TCPConn); ok && eof {
		// Pass the half-close on; the other direction may go on.
		_ = tc.CloseWrite()
		return
	}
	c.close()
}

// waitNotStalled waits while flow i is stalled; false if the proxy closed.
func (p *FaultProxy) waitNotStalled(i int) bool {
	for {
		p.mu.Lock()
		stalled, closed, changed := p.flows[i].mode == flowStall, p.closed, p.changed
		p.mu.Unlock()
		if closed {
			return false
		}
		if !stalled {
			return true
		}
		<-changed
	}
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
