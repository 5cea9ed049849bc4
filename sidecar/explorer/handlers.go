package explorer

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/cosmos/cosmos-sdk/types/query"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

//go:embed templates/*.html
var templateFS embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"countdown": countdown,
	"ago":       func(t time.Time) string { return time.Since(t).Truncate(time.Second).String() },
	"utc":       func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"roleTitle": RoleTitle,
	"pathEsc":   url.PathEscape,
}).ParseFS(templateFS, "templates/*.html"))

// Limits on what one page asks the chain for.
const (
	maxDelegationsShown = 200
	maxRewardQueries    = 50
)

// Handler serves the explorer's pages from a Source.
type Handler struct {
	src *Source
	mux *http.ServeMux
}

// NewHandler returns the explorer's pages over src.
func NewHandler(src *Source) *Handler {
	h := &Handler{src: src, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /{$}", h.overview)
	h.mux.HandleFunc("GET /nodes", h.nodes)
	h.mux.HandleFunc("GET /topology", h.topology)
	h.mux.HandleFunc("GET /node/{id}", h.node)
	h.mux.HandleFunc("GET /node", h.nodeSearch)
	h.mux.HandleFunc("GET /address/{addr}", h.address)
	h.mux.HandleFunc("GET /address", h.addressSearch)
	h.mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, http.StatusNotFound, "No such page", "There is no page at this address.")
	})
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	h.src.cfg.Metrics.serve(w, r, h.mux)
}

// view is what every page template gets.
type view struct {
	Title, Active string
	Snap          *Snapshot
	ChainErr      string
	ChainErrAt    time.Time
	Body          any
}

func (h *Handler) view(title, active string, body any) (view, bool) {
	snap, err, at := h.src.Current()
	v := view{Title: title, Active: active, Snap: snap, Body: body}
	if err != nil {
		v.ChainErr, v.ChainErrAt = err.Error(), at
	}
	return v, snap != nil
}

// render executes a page into a buffer first, so a failure midway gives a
// clean 500 rather than half a page.
func render(w http.ResponseWriter, code int, name string, v any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, v); err != nil {
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

type failBody struct {
	Code          int
	Heading, Text string
}

func (h *Handler) fail(w http.ResponseWriter, code int, heading, text string) {
	v, _ := h.view(heading, "", failBody{Code: code, Heading: heading, Text: text})
	render(w, code, "error", v)
}

// chainDown answers a page that needs the chain before any snapshot exists.
func (h *Handler) chainDown(w http.ResponseWriter) {
	_, err, _ := h.src.Current()
	text := "The explorer has not yet read the chain."
	if err != nil {
		text = "The chain does not answer: " + err.Error()
	}
	h.fail(w, http.StatusServiceUnavailable, "Chain unreachable", text)
}

// queryFailed turns a failed live query into the page it deserves.
func (h *Handler) queryFailed(w http.ResponseWriter, what string, err error) {
	switch status.Code(err) {
	case codes.NotFound:
		h.fail(w, http.StatusNotFound, "Not found", what+" is not on the chain.")
	case codes.InvalidArgument:
		h.fail(w, http.StatusBadRequest, "Bad request", status.Convert(err).Message())
	default:
		h.fail(w, http.StatusServiceUnavailable, "Chain unreachable", "Reading "+what+" from the chain failed: "+status.Convert(err).Message())
	}
}

func (h *Handler) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), h.src.cfg.Timeout)
}

func (h *Handler) overview(w http.ResponseWriter, r *http.Request) {
	v, ok := h.view("Network", "overview", nil)
	if !ok {
		h.chainDown(w)
		return
	}
	render(w, http.StatusOK, "overview", v)
}

func (h *Handler) topology(w http.ResponseWriter, r *http.Request) {
	v, ok := h.view("Topology", "topology", nil)
	if !ok {
		h.chainDown(w)
		return
	}
	render(w, http.StatusOK, "topology", v)
}

// NodesBody is the node list page's content.
type NodesBody struct {
	Role, Sort string
	Roles      []string
	Sorts      []string
	Nodes      []NodeView
}

func (h *Handler) nodes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	role, all, err := ParseRole(q.Get("role"))
	if err != nil {
		h.fail(w, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	by, err := ParseSort(q.Get("sort"))
	if err != nil {
		h.fail(w, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	snap, _, _ := h.src.Current()
	if snap == nil {
		h.chainDown(w)
		return
	}
	v, _ := h.view("Nodes", "nodes", nodesBody(snap, role, all, by))
	render(w, http.StatusOK, "nodes", v)
}

func nodesBody(snap *Snapshot, role mixnettypes.Role, all bool, by string) NodesBody {
	b := NodesBody{Role: "all", Sort: by, Sorts: sortKeys, Roles: []string{"all"}}
	for _, r := range roleOrder {
		b.Roles = append(b.Roles, roleName(r))
	}
	list := snap.Nodes
	if !all {
		b.Role = roleName(role)
		list = nil
		for _, n := range snap.Nodes {
			if n.Role == role {
				list = append(list, n)
			}
		}
	}
	if order := snap.orders[by]; order != nil {
		sorted := make([]NodeView, 0, len(list))
		for _, i := range order {
			if n := &snap.Nodes[i]; all || n.Role == role {
				sorted = append(sorted, *n)
			}
		}
		list = sorted
	}
	b.Nodes = list
	return b
}

// NodeBody is a node page's content.
type NodeBody struct {
	Node               NodeView
	Saturation         string
	UncappedSaturation string
	PendingReward      string
	Delegations        []mixnettypes.Delegation
	DelegationsTotal   uint64
	DelegationsTrimmed bool
	History            []Sample
	NextSphinxKey      string
	BondingHeight      int64
	// ReadHeight is the block the page was read at (0: unknown).
	ReadHeight int64
}

func (h *Handler) nodeSearch(w http.ResponseWriter, r *http.Request) {
	id, err := ParseNodeID(r.URL.Query().Get("id"))
	if err != nil {
		h.fail(w, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	http.Redirect(w, r, "/node/"+strconv.FormatUint(id, 10), http.StatusSeeOther)
}

func (h *Handler) node(w http.ResponseWriter, r *http.Request) {
	id, err := ParseNodeID(r.PathValue("id"))
	if err != nil {
		h.fail(w, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	ctx, cancel := h.ctx(r)
	defer cancel()
	mq := h.src.mixnet
	var md metadata.MD
	resp, err := mq.Node(ctx, &mixnettypes.QueryNodeRequest{NodeId: id}, grpc.Header(&md))
	if err != nil {
		h.queryFailed(w, fmt.Sprintf("Node %d", id), err)
		return
	}
	// The rest is read at the node's height too: the page is one block's.
	height, ctx := pin(ctx, md)
	// The saturation comes from the chain's own query below, not the snapshot.
	b := NodeBody{Node: nodeView(resp.Node, resp.Role, nil), BondingHeight: resp.Node.BondingHeight, ReadHeight: height}
	if len(resp.Node.NextSphinxKey) > 0 {
		b.NextSphinxKey = fmt.Sprintf("%x", resp.Node.NextSphinxKey)
	}
	sat, err := mq.StakeSaturation(ctx, &mixnettypes.QueryStakeSaturationRequest{NodeId: id})
	if err != nil {
		h.queryFailed(w, fmt.Sprintf("Node %d's saturation", id), err)
		return
	}
	b.Saturation, b.UncappedSaturation = Percent(sat.Saturation), Percent(sat.UncappedSaturation)
	pend, err := mq.PendingOperatorReward(ctx, &mixnettypes.QueryPendingOperatorRewardRequest{NodeId: id})
	if err != nil {
		h.queryFailed(w, fmt.Sprintf("Node %d's reward", id), err)
		return
	}
	b.PendingReward = pend.Amount.String()
	dels, err := mq.NodeDelegations(ctx, &mixnettypes.QueryNodeDelegationsRequest{NodeId: id,
		Pagination: &query.PageRequest{Limit: maxDelegationsShown, CountTotal: true}})
	if err != nil {
		h.queryFailed(w, fmt.Sprintf("Node %d's delegations", id), err)
		return
	}
	b.Delegations = dels.Delegations
	if dels.Pagination != nil {
		b.DelegationsTotal = dels.Pagination.Total
		b.DelegationsTrimmed = len(dels.Pagination.NextKey) > 0
	}
	b.History = h.src.History(id)
	v, _ := h.view(fmt.Sprintf("Node %d", id), "nodes", b)
	render(w, http.StatusOK, "node", v)
}

// AddressBody is an address page's content.
type AddressBody struct {
	Address     string
	Delegations []AddressDelegation
	Trimmed     bool
	OwnedNode   uint64
	// ReadHeight is the block the page was read at (0: unknown).
	ReadHeight int64
}

// AddressDelegation is one delegation of an address with its pending reward.
type AddressDelegation struct {
	NodeID        uint64
	Amount        string
	Height        int64
	PendingReward string
}

func (h *Handler) addressSearch(w http.ResponseWriter, r *http.Request) {
	addr, err := ParseAddress(r.URL.Query().Get("addr"))
	if err != nil {
		h.fail(w, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	http.Redirect(w, r, "/address/"+addr, http.StatusSeeOther)
}

func (h *Handler) address(w http.ResponseWriter, r *http.Request) {
	addr, err := ParseAddress(r.PathValue("addr"))
	if err != nil {
		h.fail(w, http.StatusBadRequest, "Bad request", err.Error())
		return
	}
	ctx, cancel := h.ctx(r)
	defer cancel()
	mq := h.src.mixnet
	var md metadata.MD
	dels, err := mq.DelegatorDelegations(ctx, &mixnettypes.QueryDelegatorDelegationsRequest{Delegator: addr,
		Pagination: &query.PageRequest{Limit: maxDelegationsShown}}, grpc.Header(&md))
	if err != nil {
		h.queryFailed(w, "Address "+addr, err)
		return
	}
	height, ctx := pin(ctx, md)
	b := AddressBody{Address: addr, Trimmed: dels.Pagination != nil && len(dels.Pagination.NextKey) > 0, ReadHeight: height}
	for i, d := range dels.Delegations {
		ad := AddressDelegation{NodeID: d.NodeId, Amount: d.Amount.String(), Height: d.Height}
		if i < maxRewardQueries {
			p, err := mq.PendingDelegatorReward(ctx, &mixnettypes.QueryPendingDelegatorRewardRequest{NodeId: d.NodeId, Delegator: addr})
			if err != nil {
				h.queryFailed(w, "Address "+addr+"'s rewards", err)
				return
			}
			ad.PendingReward = p.Amount.String()
		}
		b.Delegations = append(b.Delegations, ad)
	}
	owned, err := mq.NodeByOwner(ctx, &mixnettypes.QueryNodeByOwnerRequest{Owner: addr})
	switch {
	case err == nil:
		b.OwnedNode = owned.Node.NodeId
	case status.Code(err) != codes.NotFound:
		h.queryFailed(w, "Address "+addr+"'s node", err)
		return
	}
	v, _ := h.view("Address "+addr, "", b)
	render(w, http.StatusOK, "address", v)
}

// countdown says how long until t, for the page as served (the script
// keeps it running).
func countdown(end time.Time) string {
	d := time.Until(end).Round(time.Second)
	if d <= 0 {
		return "ending now"
	}
	return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
}
