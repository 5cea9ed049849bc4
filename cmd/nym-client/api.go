package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/spf13/cobra"

	"github.com/nyx-privacy/nyx/sidecar/client"
)

// apiURL returns the local API's websocket URL from the client's config.
func apiURL(cmd *cobra.Command) (string, error) {
	home, _ := cmd.Flags().GetString("home")
	cfg, err := client.LoadConfig(home)
	if err != nil {
		return "", err
	}
	return (&url.URL{Scheme: "ws", Host: cfg.Client.Listen, Path: "/"}).String(), nil
}

func dialAPI(cmd *cobra.Command) (*websocket.Conn, error) {
	u, err := apiURL(cmd)
	if err != nil {
		return nil, err
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	c, _, err := d.DialContext(cmd.Context(), u, nil)
	if err != nil {
		return nil, fmt.Errorf("connect to the running client's API at %s (is `nym-client run` running?): %w", u, err)
	}
	return c, nil
}

// sendCmd sends one message through the running client, as an app would.
func sendCmd() *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "send --to ADDRESS [MESSAGE]",
		Short: "Send a message through the running client (from the argument, or stdin if none)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if to == "" {
				return errors.New("--to is required: the recipient's address (nym-client address)")
			}
			var msg []byte
			if len(args) == 1 {
				msg = []byte(args[0])
			} else {
				b, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return err
				}
				msg = b
			}
			c, err := dialAPI(cmd)
			if err != nil {
				return err
			}
			defer c.Close()
			req, _ := json.Marshal(map[string]any{"type": "send", "recipient": to, "data": msg})
			if err := c.WriteMessage(websocket.TextMessage, req); err != nil {
				return err
			}
			// The client answers "sent" with the message's id, or an error.
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, b, err := c.ReadMessage()
			if err != nil {
				return fmt.Errorf("no answer from the client: %w", err)
			}
			var ans struct{ Type, Error, ID string }
			if err := json.Unmarshal(b, &ans); err != nil {
				return fmt.Errorf("answer from the client: %w", err)
			}
			if ans.Type == "error" {
				return errors.New(ans.Error)
			}
			_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
			fmt.Fprintf(cmd.OutOrStdout(), "message %s queued\n", ans.ID)
			fmt.Fprintf(cmd.OutOrStdout(), "sent %d bytes to %s\n", len(msg), to)
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "recipient address")
	return cmd
}

// receiveCmd prints the messages the running client receives, one per line.
func receiveCmd() *cobra.Command {
	var count int
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "receive",
		Short: "Print messages received by the running client, one per line, until Ctrl-C (or --count)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := dialAPI(cmd)
			if err != nil {
				return err
			}
			defer c.Close()
			stop := make(chan os.Signal, 1)
			signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
			defer signal.Stop(stop)
			go func() { <-stop; c.Close() }()
			deadline := time.Time{}
			if timeout > 0 {
				deadline = time.Now().Add(timeout)
			}
			for n := 0; count == 0 || n < count; {
				_ = c.SetReadDeadline(deadline)
				_, b, err := c.ReadMessage()
				if err != nil {
					if timeout > 0 && strings.Contains(err.Error(), "timeout") {
						return fmt.Errorf("no message within %s", timeout)
					}
					return nil
				}
				var m struct {
					Type    string `json:"type"`
					Data    []byte `json:"data"`
					Message *string
				}
				if json.Unmarshal(b, &m) != nil || m.Type != "received" {
					continue
				}
				if m.Message != nil {
					fmt.Fprintln(cmd.OutOrStdout(), *m.Message)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "%x\n", m.Data)
				}
				n++
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&count, "count", 0, "exit after this many messages (0: never)")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long (0: never)")
	return cmd
}
