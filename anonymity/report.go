package anonymity

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// Condition is one setting of the network's traffic and delays.
type Condition struct {
	Name string
	// Cover sends loop cover traffic in every empty slot.
	Cover bool
	// HopDelay is the mean per-hop delay in seconds.
	HopDelay float64
	// MessageRate is the real messages per client per second.
	MessageRate float64
}

// Conditions are the settings make anonymity reports: nym-client's defaults
// (15 ms per hop, a slot every 20 ms, loop cover on) with a real message in
// a tenth of the slots; cover off; the per-hop delay halved and doubled; and
// a quiet network: no cover, one message per client every five seconds.
var Conditions = []Condition{
	{Name: "default", Cover: true, HopDelay: 0.015, MessageRate: DefaultMessageRate},
	{Name: "cover off", Cover: false, HopDelay: 0.015, MessageRate: DefaultMessageRate},
	{Name: "delay halved", Cover: true, HopDelay: 0.0075, MessageRate: DefaultMessageRate},
	{Name: "delay doubled", Cover: true, HopDelay: 0.030, MessageRate: DefaultMessageRate},
	{Name: "quiet", Cover: false, HopDelay: 0.015, MessageRate: 0.2},
}

// Model returns the model of the condition with n clients.
func (c Condition) Model(n int, duration float64, seed uint64) Model {
	return Model{Clients: n, Cover: c.Cover, HopDelay: c.HopDelay, MessageRate: c.MessageRate, Duration: duration, Seed: seed}
}

// Row is one line of the report.
type Row struct {
	Condition string
	N         int
	// Source is "measured" (a local network) or "simulated".
	Source string
	// Rate is the packets per client per second the clients sent.
	Rate   float64
	Result Result
}

// SimulateCondition measures the condition's model at n clients. The
// simulated time shrinks as n grows so that a trace stays within a few
// million packets; a quiet network gets longer, to have messages at all.
func SimulateCondition(c Condition, n int, maxMessages int, seed uint64) (Row, error) {
	return SimulateAtRate(c, n, 0, maxMessages, seed)
}

// SimulateAtRate is SimulateCondition with the clients sending rate packets
// a second (0: the model's own rate), as a measured network's clients did
// when the machine could not keep up with the nominal rate: the Poisson
// slots with cover traffic, the real messages without.
func SimulateAtRate(c Condition, n int, rate float64, maxMessages int, seed uint64) (Row, error) {
	d := 2.0
	if n >= 1000 {
		d = 1
	}
	if c.MessageRate < 1 {
		d = math.Min(200, math.Max(d, 400/(c.MessageRate*float64(n))))
	}
	m := c.Model(n, d, seed)
	m.AllPackets = true
	switch {
	case rate <= 0:
	case c.Cover:
		m.SendDelay = 1 / rate
	default:
		m.MessageRate = rate
	}
	r, err := SimulateEntropy(m, maxMessages)
	row := Row{Condition: c.Name, N: n, Source: "simulated", Result: r}
	if m.Cover {
		row.Rate = 1 / m.withDefaults().SendDelay
	} else {
		row.Rate = m.withDefaults().MessageRate
	}
	return row, err
}

// WriteTable writes the rows as a table: entropy in bits next to log2 N.
func WriteTable(w io.Writer, rows []Row) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%-14s %6s  %-9s %7s %8s  %9s %9s %9s  %7s  %6s\n", "condition", "N", "source", "pkt/s", "messages", "H mean", "H p10", "H min", "log2 N", "H/max")
	for _, r := range rows {
		ratio := 0.0
		if r.Result.Max > 0 {
			ratio = r.Result.Mean / r.Result.Max
		}
		fmt.Fprintf(&b, "%-14s %6d  %-9s %7.1f %8d  %9.3f %9.3f %9.3f  %7.3f  %6.3f\n", r.Condition, r.N, r.Source, r.Rate, r.Result.Messages,
			r.Result.Mean, r.Result.P10, r.Result.Min, r.Result.Max, ratio)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
