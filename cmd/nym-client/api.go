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
	dir, err := cli.Home(cmd)
	if err != nil {
		return "", err
	}
	cfg, err := client.LoadConfig(dir)
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
	var to, tag string
	var anonymous bool
	var surbs int
	cmd := &cobra.Command{
		Use:   "send (--to ADDRESS [--anonymous [--surbs N]] | --reply-to TAG) [MESSAGE]",
		Short: "Send a message through the running client (from the argument, or stdin if none)",
		Long: "Send a message through the running client: to an address (with --anonymous, with a sender\n" +
			"tag and reply SURBs instead of this client's address), or a reply to the sender tag of an\n" +
			"anonymous message received (receive prints it).",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (to == "") == (tag == "") {
				return errors.New("give one of --to (the recipient's address) and --reply-to (a sender tag)")
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
			r := map[string]any{"type": "send", "recipient": to, "data": msg}
			switch {
			case tag != "":
				r = map[string]any{"type": "reply", "senderTag": tag, "data": msg}
			case anonymous:
				r["type"], r["replySurbs"] = "sendAnonymous", surbs
			}
			req, _ := json.Marshal(r)
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
	cmd.Flags().StringVar(&tag, "reply-to", "", "sender tag of an anonymous message to reply to")
	cmd.Flags().BoolVar(&anonymous, "anonymous", false, "send with a sender tag and reply SURBs instead of this client's address")
	cmd.Flags().IntVar(&surbs, "surbs", client.DefaultReplyConfig().SURBs, "reply SURBs an anonymous message carries (at most 50)")
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
					Type      string `json:"type"`
					Data      []byte `json:"data"`
					Message   *string
					SenderTag string `json:"senderTag"`
				}
				if json.Unmarshal(b, &m) != nil || m.Type != "received" {
					continue
				}
				if m.SenderTag != "" {
					// Anonymous: the tag to reply to, before the message.
					fmt.Fprintf(cmd.OutOrStdout(), "[%s] ", m.SenderTag)
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
