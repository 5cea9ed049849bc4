package coconut

// Dealer returns the index of the dealer c accuses.
func (c *Complaint) Dealer() int { return c.dealer }

// Complainer returns the index of the participant that made c.
func (c *Complaint) Complainer() int { return c.complainer }
