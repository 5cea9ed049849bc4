package explorer

import (
	"fmt"

	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// The topology picture: one column per position on a packet's path (entry
// gateway, the three mix layers, exit gateway), a dot per node, and the links
// a packet can take between neighbouring columns. Every node of a layer links
// to every node of the next, so a large topology would need a line per pair
// (a 333-node layer pair is 110,000 lines); past linkLimit pairs the links are
// drawn as one band instead, and past maxDots a column shows its first nodes
// and how many more it has. The picture stays a few hundred elements at any
// size.
const (
	maxDots   = 40
	linkLimit = 400
	colWidth  = 180
	rowHeight = 16
	topMargin = 50
)

var pathRoles = []mixnettypes.Role{
	mixnettypes.RoleEntryGateway, mixnettypes.RoleMixLayer1, mixnettypes.RoleMixLayer2,
	mixnettypes.RoleMixLayer3, mixnettypes.RoleExitGateway,
}

// Layout is the topology picture's geometry; the template draws it as SVG.
type Layout struct {
	Width, Height int
	Columns       []Column
	Links         []Link
	Bands         []Band
	Standby       int
}

// Column is one position on the path.
type Column struct {
	X, TitleY, MoreY int
	Title            string
	Count, More      int
	Dots             []Dot
}

// Dot is one node in the picture.
type Dot struct {
	X, Y        int
	ID          uint64
	Host        string
	Performance string
}

// Link joins two nodes of neighbouring columns.
type Link struct{ X1, Y1, X2, Y2 int }

// Band stands for every link between two columns too full to draw one by one;
// Points is an SVG polygon's point list (numbers only).
type Band struct{ Points string }

func layoutTopology(nodes []NodeView) *Layout {
	l := &Layout{Width: colWidth * len(pathRoles)}
	cols := make([][]NodeView, len(pathRoles))
	for _, n := range nodes {
		if n.Role == mixnettypes.RoleStandby {
			l.Standby++
		}
		for i, r := range pathRoles {
			if n.Role == r {
				cols[i] = append(cols[i], n)
			}
		}
	}
	rows := 1
	for _, c := range cols {
		rows = max(rows, min(len(c), maxDots))
	}
	l.Height = topMargin + rows*rowHeight + 40
	for i, c := range cols {
		x := colWidth/2 + i*colWidth
		col := Column{X: x, TitleY: 20, Title: RoleTitle(pathRoles[i]), Count: len(c)}
		shown := min(len(c), maxDots)
		col.More = len(c) - shown
		// Centre a short column against the tallest one.
		y0 := topMargin + (rows-shown)*rowHeight/2
		for j := 0; j < shown; j++ {
			col.Dots = append(col.Dots, Dot{X: x, Y: y0 + j*rowHeight, ID: c[j].ID, Host: c[j].Host, Performance: c[j].Performance})
		}
		col.MoreY = topMargin + rows*rowHeight + 16
		l.Columns = append(l.Columns, col)
	}
	for i := 0; i+1 < len(l.Columns); i++ {
		a, b := l.Columns[i], l.Columns[i+1]
		if len(a.Dots) == 0 || len(b.Dots) == 0 {
			continue
		}
		if len(a.Dots)*len(b.Dots) > linkLimit {
			a0, a1 := a.Dots[0], a.Dots[len(a.Dots)-1]
			b0, b1 := b.Dots[0], b.Dots[len(b.Dots)-1]
			l.Bands = append(l.Bands, Band{Points: fmt.Sprintf("%d,%d %d,%d %d,%d %d,%d",
				a0.X, a0.Y, b0.X, b0.Y, b1.X, b1.Y, a1.X, a1.Y)})
			continue
		}
		for _, p := range a.Dots {
			for _, q := range b.Dots {
				l.Links = append(l.Links, Link{p.X, p.Y, q.X, q.Y})
			}
		}
	}
	return l
}
