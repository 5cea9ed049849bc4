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
	BinarySend              byte = 0x01 // app → client: kind || recipient (96) || message
	BinaryReceived          byte = 0x02 // client → app: kind || message
	BinarySendAnonymous     byte = 0x03 // app → client: kind || recipient (96) || reply SURBs (1) || message
	BinaryReply             byte = 0x04 // app → client: kind || sender tag (16) || message
	BinaryReceivedAnonymous byte = 0x05 // client → app: kind || sender tag (16) || message
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
	Type      string // "selfAddress", "send", "sendAnonymous" or "reply"
	Recipient Address
	Message   []byte
	// ReplySURBs is sendAnonymous's number of SURBs (-1: the default).
	ReplySURBs int
	// SenderTag is what reply answers.
	SenderTag SenderTag
}

// appJSON is a JSON frame of the local API, both ways.
type appJSON struct {
	Type       string  `json:"type"`
	Recipient  string  `json:"recipient,omitempty"`
	Message    *string `json:"message,omitempty"`
	Data       []byte  `json:"data,omitempty"`
	Address    string  `json:"address,omitempty"`
	Error      string  `json:"error,omitempty"`
	ReplySURBs *int    `json:"replySurbs,omitempty"`
	SenderTag  string  `json:"senderTag,omitempty"`
	ID         string  `json:"id,omitempty"`
}

// ParseAppRequest parses one frame from an app: a text frame holding a JSON
// request, or a binary request.
func ParseAppRequest(binary bool, b []byte) (AppRequest, error) {
	var r AppRequest
	if len(b) > maxAppFrame {
		return r, fmt.Errorf("%w: frame of %d bytes", ErrRequest, len(b))
	}
	if binary {
		return parseBinaryRequest(b)
	}
	var j appJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return r, fmt.Errorf("%w: not JSON: %v", ErrRequest, err)
	}
	r.Type = j.Type
	switch j.Type {
	case "selfAddress":
		return r, nil
	case "send", "sendAnonymous":
		a, err := ParseAddress(j.Recipient)
		if err != nil {
			return AppRequest{}, fmt.Errorf("%w: %v", ErrRequest, err)
		}
		r.Recipient = a
		r.ReplySURBs = -1
		if j.ReplySURBs != nil {
			if j.Type != "sendAnonymous" || *j.ReplySURBs < 0 || *j.ReplySURBs > MaxSURBsPerMessage {
				return AppRequest{}, fmt.Errorf("%w: replySurbs goes with sendAnonymous, 0 to %d", ErrRequest, MaxSURBsPerMessage)
			}
			r.ReplySURBs = *j.ReplySURBs
		}
	case "reply":
		tag, err := ParseSenderTag(j.SenderTag)
		if err != nil {
			return AppRequest{}, err
		}
		r.SenderTag = tag
	default:
		return AppRequest{}, fmt.Errorf("%w: unknown type %q", ErrRequest, truncate(j.Type, 32))
	}
	switch {
	case j.Message != nil && j.Data != nil:
		return AppRequest{}, fmt.Errorf("%w: %s has both \"message\" and \"data\"", ErrRequest, j.Type)
	case j.Message != nil:
		r.Message = []byte(*j.Message)
	default:
		r.Message = j.Data
	}
	if r.Message == nil {
		r.Message = []byte{}
	}
	return r, nil
}

func parseBinaryRequest(b []byte) (AppRequest, error) {
	var r AppRequest
	if len(b) < 1 {
		return r, fmt.Errorf("%w: empty binary frame", ErrRequest)
	}
	switch b[0] {
	case BinarySend, BinarySendAnonymous:
		head := 1 + AddressSize
		if b[0] == BinarySendAnonymous {
			head++
		}
		if len(b) < head {
			return r, fmt.Errorf("%w: binary send of %d bytes is shorter than its header", ErrRequest, len(b))
		}
		a, err := ParseAddressBinary(b[1 : 1+AddressSize])
		if err != nil {
			return r, fmt.Errorf("%w: %v", ErrRequest, err)
		}
		r = AppRequest{Type: "send", Recipient: a, Message: b[head:], ReplySURBs: -1}
		if b[0] == BinarySendAnonymous {
			r.Type, r.ReplySURBs = "sendAnonymous", int(b[1+AddressSize])
			if r.ReplySURBs > MaxSURBsPerMessage {
				return AppRequest{}, fmt.Errorf("%w: %d reply SURBs, at most %d", ErrRequest, r.ReplySURBs, MaxSURBsPerMessage)
			}
		}
		return r, nil
	case BinaryReply:
		if len(b) < 1+len(SenderTag{}) {
			return r, fmt.Errorf("%w: binary reply of %d bytes is shorter than a sender tag", ErrRequest, len(b))
		}
		return AppRequest{Type: "reply", SenderTag: SenderTag(b[1:17]), Message: b[17:]}, nil
	}
	return r, fmt.Errorf("%w: binary request kind %d (0x01 send, 0x03 sendAnonymous, 0x04 reply)", ErrRequest, b[0])
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

// Run hands each received message and each report to every connected app
// until ctx ends. While no app is connected, messages wait in the client
// (and then at the gateway).
func (a *API) Run(ctx context.Context) error {
	go a.report(ctx)
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
		a.broadcast(receivedFrames(msg))
	}
}

// report hands each Report to every connected app (dropped if none).
func (a *API) report(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-a.c.Reports():
			j := appJSON{Type: "delivered", ID: r.ID.String()}
			if r.Err != nil {
				j = appJSON{Type: "failed", ID: r.ID.String(), Error: r.Err.Error()}
			}
			b, _ := json.Marshal(j)
			f := frame{websocket.TextMessage, b}
			a.broadcast(f, f)
		}
	}
}

// broadcast queues a frame for every app: text for the JSON ones, bin for
// the binary ones.
func (a *API) broadcast(text, bin frame) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for ap := range a.apps {
		f := text
		if ap.binary {
			f = bin
		}
		select {
		case ap.out <- f:
		default:
			a.dropped.Add(1)
		}
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

// receivedFrames is a received message as a JSON frame and a binary frame.
func receivedFrames(msg Message) (text, bin frame) {
	j := appJSON{Type: "received", Data: msg.Data}
	if j.Data == nil {
		j.Data = []byte{}
	}
	if utf8.Valid(msg.Data) {
		s := string(msg.Data)
		j.Message = &s
	}
	b := append([]byte{BinaryReceived}, msg.Data...)
	if msg.SenderTag != nil {
		j.SenderTag = msg.SenderTag.String()
		b = append(append([]byte{BinaryReceivedAnonymous}, msg.SenderTag[:]...), msg.Data...)
	}
	t, _ := json.Marshal(j)
	return frame{websocket.TextMessage, t}, frame{websocket.BinaryMessage, b}
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
			default:
				var id MessageID
				switch req.Type {
				case "send":
					id, err = a.c.Send(r.Context(), req.Recipient, req.Message)
				case "sendAnonymous":
					id, err = a.c.SendAnonymous(r.Context(), req.Recipient, req.Message, req.ReplySURBs)
				case "reply":
					id, err = a.c.Reply(r.Context(), req.SenderTag, req.Message)
				}
				if err != nil {
					reply(errorJSON(err))
					continue
				}
				b, _ := json.Marshal(appJSON{Type: "sent", ID: id.String()})
				reply(b)
			}
		}
	})
}
