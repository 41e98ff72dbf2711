package email

import "github.com/dargah137/dargah/channels"

// Leaser grants one holder at a time the right to read a mailbox: two
// instances reading one folder would race on flags and moves and submit
// each mail twice (harmless for the ledger, noisy for the logs).
type Leaser = channels.Leaser

// KVLeaser is the lease over the embedded store's KV (one process).
type KVLeaser = channels.KVLeaser
