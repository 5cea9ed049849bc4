package node

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/nyx-privacy/nyx/sidecar/home"
	"github.com/nyx-privacy/nyx/sidecar/ratelog"
	"github.com/nyx-privacy/nyx/sidecar/wire"
)

// DefaultHTTPSection is the [http] section Init writes.
func DefaultHTTPSection() HTTPSection { return home.DefaultHTTPLimits() }

// validateLimits checks the settings that bound what outside parties can
// make the node hold: each must be a bound (positive) that lets the
// ordinary traffic through.
func (c Config) validateLimits() []error {
	var errs []error
	m := c.Mixnode
	if err := c.HTTP.Validate("http"); err != nil {
		errs = append(errs, err)
	}
	for name, d := range map[string]Duration{
		"mixnode.preface_timeout": m.PrefaceTimeout, "mixnode.stranger_idle": m.StrangerIdle,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", name))
		}
	}
	for name, v := range map[string]int{
		"mixnode.max_connections_per_ip": m.MaxConnsPerIP, "mixnode.stranger_failures": m.StrangerFailures,
	} {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", name))
		}
	}
	if m.ReservedConns <= 0 || (m.MaxConns > 0 && m.ReservedConns > m.MaxConns) {
		errs = append(errs, errors.New("mixnode.reserved_connections must be positive and at most max_connections"))
	}
	// One packet of the largest size must fit, or every such packet is
	// dropped.
	largest := int64(wire.StandardSizes().Max())
	for name, v := range map[string]int64{
		"mixnode.delay_queue_bytes": m.DelayQueueBytes, "mixnode.link_queue_bytes": m.LinkQueueBytes, "mixnode.links_bytes": m.LinksBytes,
		"mixnode.process_queue_bytes": m.ProcessQueueBytes, "mixnode.deliver_queue_bytes": m.DeliverQueueBytes,
	} {
		if v < largest {
			errs = append(errs, fmt.Errorf("%s must be at least %d (the largest packet)", name, largest))
		}
	}
	// A stranger is held to less than a peer, never to more.
	if m.ReadIdle > 0 && m.StrangerIdle > m.ReadIdle {
		errs = append(errs, errors.New("mixnode.stranger_idle must not exceed read_idle"))
	}
	if m.LinkQueueBytes > m.LinksBytes {
		errs = append(errs, errors.New("mixnode.link_queue_bytes must not exceed links_bytes"))
	}
	return errs
}

// startServers serves the gateway's websocket endpoint on clientsL (if the
// gateway runs) and /metrics and /health on httpL, both through
// sidecar/home's HTTP server, bounded by the [http] section.
func (s *Server) startServers(clientsL, httpL net.Listener, clientsTLS *tls.Config) {
	base := home.HTTPServer{Limits: s.cfg.HTTP, Refused: home.NewRefusedCounter(s.reg, "nyx", "node"), Log: ratelog.New(s.log, 0, 0)}
	start := func(o home.HTTPServer, l net.Listener) *http.Server {
		srv, done := o.Start(l, func(err error) { s.log.Error("listener stopped", "listener", o.Name, "err", err) })
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			<-done
		}()
		return srv
	}
	if s.gw != nil {
		s.clientsAddr = clientsL.Addr().String()
		o := base
		o.Handler, o.Name, o.TLS = s.gw.Handler(), "clients", clientsTLS
		s.clientsSrv = start(o, clientsL)
	}
	s.httpAddr = httpL.Addr().String()
	o := base
	o.Handler, o.Name = home.Routes(s.reg, func() any { return s.Status() }, nil), "http"
	s.httpSrv = start(o, httpL)
}
