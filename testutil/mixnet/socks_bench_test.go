package mixnet_test

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sphinx"
	"github.com/nyx-privacy/nyx/testutil/mixnet"
)

// fetch GETs url with c and returns the time to the first byte of the body
// and the body's length.
func fetch(c *http.Client, url string) (time.Duration, int, error) {
	start := time.Now()
	resp, err := c.Get(url)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var one [1]byte
	if _, err := io.ReadFull(resp.Body, one[:]); err != nil {
		return 0, 0, err
	}
	ttfb := time.Since(start)
	n, err := io.Copy(io.Discard, resp.Body)
	return ttfb, int(n) + 1, err
}

// fetchParallel fetches url n times at once; it returns the mean time to
// first byte and the aggregate throughput in KB/s.
func fetchParallel(b *testing.B, c *http.Client, url string, n int) (ttfb time.Duration, kbs float64) {
	var mu sync.Mutex
	var total int
	var wg sync.WaitGroup
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t, m, err := fetch(c, url)
			if err != nil {
				b.Error(err)
				return
			}
			mu.Lock()
			ttfb += t
			total += m
			mu.Unlock()
		}()
	}
	wg.Wait()
	return ttfb / time.Duration(n), float64(total) / 1000 / time.Since(start).Seconds()
}

// BenchmarkSOCKS5 measures streams through a SOCKS5 client, the network
// and a network requester on loopback: time to first byte and throughput
// of one stream and of ten at once, at zero mix delays and at Nym's
// default delays (15 ms a hop, a packet every 20 ms on average from each
// client), with the requester sending regular (2 KiB) packets or extended
// ones (its packet_size; extended8 is the default), each reported next to
// the same fetch made directly in the same run (the floor) and as a ratio
// to it. One network serves every setting (each client's sender sets its
// packets' delays and size). Each stream fetches a 1 MB file, 256 KB where
// the release stream bounds a requester to about 95 KB/s. Run it with
// -benchtime 1x.
func BenchmarkSOCKS5(b *testing.B) {
	nw := mixnet.Start(b, mixnet.Options{})
	files := startFileServer(b)
	buf := make([]byte, 256<<10)
	rand.Read(buf)
	files.files["256k"] = buf
	direct := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for _, d := range []struct {
		name    string
		sender  client.SenderConfig
		packets sphinx.Geometry
		file    string
	}{
		{"zero-delays/regular", client.SenderConfig{}, sphinx.Regular, "1m"},
		{"default-delays/regular", client.DefaultSenderConfig(), sphinx.Regular, "256k"},
		{"default-delays/extended8", client.DefaultSenderConfig(), sphinx.Extended8, "1m"},
		{"default-delays/extended32", client.DefaultSenderConfig(), sphinx.Extended32, "1m"},
	} {
		s := startProxySetup(b, nw, files, func() mixnet.ClientOptions { return mixnet.ClientOptions{Sender: d.sender} }, d.packets)
		via := httpVia(b, s.px.Addr)
		for _, streams := range []int{1, 10} {
			b.Run(fmt.Sprintf("%s/streams=%d", d.name, streams), func(b *testing.B) {
				url := files.url("127.0.0.1", d.file)
				var mixTTFB, dirTTFB time.Duration
				var mixKBs, dirKBs float64
				for range b.N {
					t, k := fetchParallel(b, via, url, streams)
					mixTTFB += t
					mixKBs += k
					t, k = fetchParallel(b, direct, url, streams)
					dirTTFB += t
					dirKBs += k
				}
				n := float64(b.N)
				b.ReportMetric(float64(mixTTFB.Microseconds())/1000/n, "ttfb-ms")
				b.ReportMetric(mixKBs/n, "KB/s")
				b.ReportMetric(float64(dirTTFB.Microseconds())/1000/n, "direct-ttfb-ms")
				b.ReportMetric(dirKBs/n, "direct-KB/s")
				b.ReportMetric(mixKBs/dirKBs, "KB/s-ratio")
				drops := map[string]uint64{}
				for _, n := range nw.Nodes {
					for k, v := range n.Server().Mix().Stats().Dropped {
						drops[k] += v
					}
				}
				b.Logf("requester %+v; its client %+v; stream client %+v; its client %+v; socks %+v; nodes dropped %v",
					s.req.Service().Stats(), s.req.Stats(), s.px.Streams.Stats(), s.px.Client.Stats(), s.px.Server.Stats(), drops)
			})
		}
	}
}
