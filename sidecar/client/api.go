package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// The local API: a websocket on 127.0.0.1 for apps. README.md documents it.

// Binary frame kinds of the local API.
const (
	BinarySend     byte = 0x01 // app → client: kind || recipient (96) || message
	BinaryReceived byte = 0x02 // client → app: kind || message
)

// Local API limits.
const (
	maxAppFrame = 2 * MaxLongMessage // a send of the longest message, in base64 JSON
	appQueue    = 256
)

// ErrRequest is wrapped by every error about an app request that does not
// parse.
var ErrRequest = errors.New("client: bad request")

// AppRequest is a parsed request from an app.
type AppRequest struct {
	Type      string // "selfAddress" or "send"
	Recipient Address
	Message   []byte
}

// appJSON is a JSON frame of the local API, both ways.
type appJSON struct {
	Type      string  `json:"type"`
	Recipient string  `json:"recipient,omitempty"`
	Message   *string `json:"message,omitempty"`
	Data      []byte  `json:"data,omitempty"`
	Address   string  `json:"address,omitempty"`
	Error     string  `json:"error,omitempty"`
}

// ParseAppRequest parses one frame from an app: a text frame holding a JSON
// request, or a binary send.
func ParseAppRequest(binary bool, b []byte) (AppRequest, error) {
	var r AppRequest
	if len(b) > maxAppFrame {
		return r, fmt.Errorf("%w: frame of %d bytes", ErrRequest, len(b))
	}
	if binary {
		if len(b) < 1+AddressSize || b[0] != BinarySend {
			return r, fmt.Errorf("%w: a binary request is 0x01, a 96-byte recipient and the message", ErrRequest)
		}
		a, err := ParseAddressBinary(b[1 : 1+AddressSize])
		if err != nil {
			return r, fmt.Errorf("%w: %v", ErrRequest, err)
		}
		return AppRequest{Type: "send", Recipient: a, Message: b[1+AddressSize:]}, nil
	}
	var j appJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return r, fmt.Errorf("%w: not JSON: %v", ErrRequest, err)
	}
	switch j.Type {
	case "selfAddress":
		return AppRequest{Type: j.Type}, nil
	case "send":
		a, err := ParseAddress(j.Recipient)
		if err != nil {
			return r, fmt.Errorf("%w: %v", ErrRequest, err)
		}
		r = AppRequest{Type: j.Type, Recipient: a}
		switch {
		case j.Message != nil && j.Data != nil:
			return AppRequest{}, fmt.Errorf("%w: send has both \"message\" and \"data\"", ErrRequest)
		case j.Message != nil:
			r.Message = []byte(*j.Message)
		default:
			r.Message = j.Data
		}
		if r.Message == nil {
			r.Message = []byte{}
		}
		return r, nil
	default:
		return r, fmt.Errorf("%w: unknown type %q", ErrRequest, truncate(j.Type, 32))
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// API serves the local websocket API of a client.
type API struct {
	c        *Client
	log      *slog.Logger
	upgrader websocket.Upgrader

	mu     sync.Mutex
	apps   map[*app]struct{}
	joined chan struct{}

	dropped atomic.Uint64
}

type app struct {
	conn   *websocket.Conn
	binary bool
	out    chan frame
	done   chan struct{}
}

type frame struct {
	mt   int
	data []byte
}

// NewAPI returns the local API of c. Run it to hand received messages to
// apps; mount Handler on a listener on 127.0.0.1.
func NewAPI(c *Client, log *slog.Logger) *API {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &API{
		c:    c,
		log:  log.With("component", "local-api"),
		apps: map[*app]struct{}{},
		upgrader: websocket.Upgrader{
			// Only local programs reach the listener, but a web page in a
			// local browser could too: refuse requests that carry a
			// browser's Origin, whose page would otherwise read messages.
			CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "" },
		},
		joined: make(chan struct{}, 1),
	}
}

// Dropped counts received messages an app's full queue did not take.
func (a *API) Dropped() uint64 { return a.dropped.Load() }

// Run hands each received message to every connected app until ctx ends.
// While no app is connected, messages wait in the client (and then at the
// gateway).
func (a *API) Run(ctx context.Context) error {
	for {
		for {
			a.mu.Lock()
			n := len(a.apps)
			a.mu.Unlock()
			if n > 0 {
				break
			}
			select {
			case <-ctx.Done():
				a.closeAll()
				return ctx.Err()
			case <-a.joined:
			}
		}
		msg, err := a.c.Receive(ctx)
		if err != nil {
			a.closeAll()
			return err
		}
		a.mu.Lock()
		for ap := range a.apps {
			f := frame{websocket.TextMessage, receivedJSON(msg)}
			if ap.binary {
				f = frame{websocket.BinaryMessage, append([]byte{BinaryReceived}, msg...)}
			}
			select {
			case ap.out <- f:
			default:
				a.dropped.Add(1)
			}
		}
		a.mu.Unlock()
	}
}

// closeAll ends every app connection (the HTTP server does not see
// websocket connections once they are upgraded).
func (a *API) closeAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for ap := range a.apps {
		ap.conn.Close()
	}
}

func receivedJSON(msg []byte) []byte {
	j := appJSON{Type: "received", Data: msg}
	if j.Data == nil {
		j.Data = []byte{}
	}
	if utf8.Valid(msg) {
		s := string(msg)
		j.Message = &s
	}
	b, _ := json.Marshal(j)
	return b
}

func errorJSON(err error) []byte {
	b, _ := json.Marshal(appJSON{Type: "error", Error: err.Error()})
	return b
}

// Handler is the websocket endpoint; "?format=binary" asks for received
// messages as binary frames.
func (a *API) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := a.upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		conn.SetReadLimit(maxAppFrame)
		ap := &app{conn: conn, binary: r.URL.Query().Get("format") == "binary", out: make(chan frame, appQueue), done: make(chan struct{})}
		a.mu.Lock()
		a.apps[ap] = struct{}{}
		a.mu.Unlock()
		select {
		case a.joined <- struct{}{}:
		default:
		}
		defer func() {
			a.mu.Lock()
			delete(a.apps, ap)
			a.mu.Unlock()
		}()
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ap.done:
					return
				case f := <-ap.out:
					conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
					if conn.WriteMessage(f.mt, f.data) != nil {
						conn.Close()
						return
					}
				}
			}
		}()
		defer wg.Wait()
		defer close(ap.done)
		reply := func(b []byte) {
			select {
			case ap.out <- frame{websocket.TextMessage, b}:
			default:
				a.dropped.Add(1)
			}
		}
		for {
			mt, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			req, err := ParseAppRequest(mt == websocket.BinaryMessage, data)
			if err != nil {
				reply(errorJSON(err))
				continue
			}
			switch req.Type {
			case "selfAddress":
				b, _ := json.Marshal(appJSON{Type: "selfAddress", Address: a.c.Address().String()})
				reply(b)
			case "send":
				if err := a.c.Send(req.Recipient, req.Message); err != nil {
					reply(errorJSON(err))
				}
			}
		}
	})
}
