package telegram

import "github.com/dargah137/dargah/channels"

// Leaser grants one holder at a time the right to poll a bot: Telegram
// answers two concurrent getUpdates with 409 Conflict, and two pollers
// would each see half the updates. The offset is only advanced after
// processing, so a brief overlap costs 409s, not lost updates.
type Leaser = channels.Leaser

// KVLeaser is the lease over the embedded store's KV (one process).
type KVLeaser = channels.KVLeaser
