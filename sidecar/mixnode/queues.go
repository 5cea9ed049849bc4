package mixnode

// The process queue (read packets waiting for a worker) and the deliver
// queue (final-hop payloads waiting for the gateway) are channels bounded
// in packets; a packet count alone bounds nothing, since a buffer is up to
// 32 KiB. Each is bounded in bytes too: a packet's whole pooled buffer is
// reserved before it is queued and given back when it is taken off.

// size is the memory j holds: its whole pooled buffer.
func (j job) size() int64 {
	if j.buf != nil {
		return int64(cap(*j.buf))
	}
	return int64(len(j.packet))
}

// queueJob queues j for the workers, or says which bound refused it.
func (n *Node) queueJob(j job) (DropReason, bool) {
	size := j.size()
	if !reserve(&n.jobBytes, size, n.cfg.ProcessQueueBytes) {
		return DropProcessQueueBytes, false
	}
	select {
	case n.jobs <- j:
		return 0, true
	default:
		n.jobBytes.Add(-size)
		return DropProcessQueueFull, false
	}
}

// queueDelivery queues a final-hop payload for the gateway, or says which
// bound refused it.
func (n *Node) queueDelivery(out outgoing) (DropReason, bool) {
	size := out.size()
	if !reserve(&n.deliverBytes, size, n.cfg.DeliverQueueBytes) {
		return DropDeliverQueueBytes, false
	}
	select {
	case n.deliveries <- out:
		return 0, true
	default:
		n.deliverBytes.Add(-size)
		return DropDeliverQueueFull, false
	}
}
