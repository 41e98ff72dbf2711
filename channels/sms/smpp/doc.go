// Package smpp is an SMPP 3.4 client (ESME) written from the specification:
// a strict PDU codec, GSM 03.38 / UCS-2 text encoding with concatenation,
// reassembly of incoming concatenated messages, delivery receipt parsing,
// and a Client that keeps its sessions bound (bind, enquire_link, reconnect
// with backoff), bounds outstanding requests with a window, throttles
// submits with a token bucket and retries the SMSC's throttling answers.
//
// It knows nothing about Dargah's gateway; the SMS portal adapter builds on
// it. Package smsctest is an SMSC test double speaking the same protocol
// over TCP.
//
// Typical use:
//
//	c, err := smpp.NewClient(smpp.Config{
//		Addr: "smsc.example:2775", SystemID: "dargah", Password: secret,
//		SourceAddr: "137", Rate: 20,
//		OnMessage: func(ctx context.Context, m smpp.Incoming) error { … },  // error: SMSC retries
//		OnReceipt: func(ctx context.Context, r smpp.Receipt) error { … },
//		PartStore: persistentStore, // optional; in memory by default
//	})
//	c.Start(ctx)                         // or smpp.Dial(ctx, cfg) to wait for the first bind
//	ids, err := c.Submit(ctx, "989121234567", "درخواست شما ثبت شد")
//	…
//	err = c.Close(ctx)                   // unbind, wait for unbind_resp
//
// Delivery is at least once in both directions: a submit whose response is
// lost with the link is sent again on the next one, and an incoming message
// whose handler fails is refused with ESME_RX_T_APPN so the SMSC delivers it
// again. Incoming.PartsIDs are content-derived so repeats can be recognised.
package smpp
