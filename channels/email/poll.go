package email

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/dargah137/dargah/gateway"
)

// cursor is where the mailbox was read up to: UIDs are only comparable
// within one UIDVALIDITY, so both are stored together.
type cursor struct {
	Validity uint32 `json:"uidvalidity"`
	LastUID  uint32 `json:"last_uid"`
}

// run keeps a session going until ctx is done: lease, connect, read,
// wait; on any failure it backs off and starts over. It never returns
// early because of one mail.
func (a *Adapter) run(ctx context.Context) {
	backoff := a.backoffMin
	leaseKey := a.key("lease")
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.Leaser.Release(rctx, leaseKey, a.holder); err != nil {
			a.log.Warn("release mailbox lease", "err", err)
		}
	}()
	for ctx.Err() == nil {
		held, err := a.Leaser.Acquire(ctx, leaseKey, a.holder, a.leaseTTL)
		switch {
		case err != nil:
			a.log.Error("mailbox lease", "err", err)
		case !held:
			a.log.Debug("mailbox is read by another instance; waiting")
			sleep(ctx, a.leaseTTL/2)
			continue
		default:
			healthy, err := a.session(ctx, leaseKey)
			if ctx.Err() != nil {
				return
			}
			if healthy {
				backoff = a.backoffMin
			}
			a.log.Warn("mailbox session ended; reconnecting", "err", err, "backoff", backoff)
		}
		sleep(ctx, backoff)
		backoff = min(backoff*2, a.backoffMax)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// session is one IMAP connection. healthy reports whether it read the
// folder through at least once, which resets the backoff.
func (a *Adapter) session(parent context.Context, leaseKey string) (healthy bool, err error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	wake := make(chan struct{}, 1)
	notify := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	c, err := a.dialIMAP(notify)
	if err != nil {
		return false, err
	}
	defer c.Close()
	// Closing the connection is how a blocked command learns ctx is done.
	stopClose := context.AfterFunc(ctx, func() { c.Close() })
	defer stopClose()

	// Renew the lease while the session runs; losing it ends the session.
	go func() {
		t := time.NewTicker(a.leaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			held, err := a.Leaser.Acquire(ctx, leaseKey, a.holder, a.leaseTTL)
			if err != nil || !held {
				a.log.Warn("mailbox lease lost; ending session", "err", err)
				cancel()
				return
			}
		}
	}()

	cur, err := a.loadCursor(ctx)
	if err != nil {
		return false, err
	}
	validity, err := a.selectFolder(ctx, c, &cur)
	if err != nil {
		return false, err
	}
	idle := c.Caps().Has(imap.CapIdle) && !a.noIdle
	a.log.Info("mailbox session started", "folder", a.s.Folder, "uidvalidity", validity, "last_uid", cur.LastUID, "idle", idle)
	for {
		if err := a.readNew(ctx, c, &cur); err != nil {
			// Not healthy: a failure to hand mail over (intake or storage
			// down) backs off further on every try.
			return false, err
		}
		var refresh bool
		if idle {
			refresh, err = a.waitIdle(ctx, c, wake)
		} else {
			refresh, err = a.waitPoll(ctx, c, wake)
		}
		if err != nil {
			return true, err
		}
		if refresh {
			// A folder deleted (and maybe recreated) under a selected
			// session is not always reported, and STATUS of the selected
			// folder answers from the session's own view; selecting again
			// sees the folder that now has the name (or fails if none).
			if _, err := a.selectFolder(ctx, c, &cur); err != nil {
				return true, err
			}
		}
	}
}

// selectFolder selects the folder and reconciles the cursor with its
// UIDVALIDITY.
func (a *Adapter) selectFolder(ctx context.Context, c *imapclient.Client, cur *cursor) (uint32, error) {
	sel, err := c.Select(a.s.Folder, nil).Wait()
	if err != nil {
		return 0, fmt.Errorf("select %s: %w", a.s.Folder, err)
	}
	if cur.Validity != sel.UIDValidity {
		if cur.Validity != 0 {
			// The server renumbered the folder: read it all again. Intake
			// is idempotent by Message-ID and handled mail carries our
			// keyword, so nothing is submitted twice.
			a.log.Warn("UIDVALIDITY changed; rescanning folder", "folder", a.s.Folder, "old", cur.Validity, "new", sel.UIDValidity)
		}
		*cur = cursor{Validity: sel.UIDValidity}
		if err := a.saveCursor(ctx, *cur); err != nil {
			return 0, err
		}
	}
	return sel.UIDValidity, nil
}

func (a *Adapter) dialIMAP(notify func()) (*imapclient.Client, error) {
	opts := &imapclient.Options{
		TLSConfig: a.tlsConfig(a.s.IMAP),
		Dialer:    &net.Dialer{Timeout: 15 * time.Second},
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					notify()
				}
			},
		},
	}
	var (
		c   *imapclient.Client
		err error
	)
	switch a.s.TLS {
	case TLSImplicit:
		c, err = imapclient.DialTLS(a.s.IMAP, opts)
	case TLSStartTLS:
		c, err = imapclient.DialStartTLS(a.s.IMAP, opts)
	default:
		c, err = imapclient.DialInsecure(a.s.IMAP, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to IMAP %s: %w", a.s.IMAP, err)
	}
	if err := c.Login(a.s.Username, a.password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("IMAP login as %s: %w", a.s.Username, err)
	}
	return c, nil
}

// waitIdle waits in IDLE until the server reports new mail, the refresh
// interval passes, the connection drops or ctx is done.
func (a *Adapter) waitIdle(ctx context.Context, c *imapclient.Client, wake <-chan struct{}) (refresh bool, err error) {
	select {
	case <-wake: // mail arrived while we were reading
		return false, nil
	default:
	}
	cmd, err := c.Idle()
	if err != nil {
		return false, fmt.Errorf("idle: %w", err)
	}
	t := time.NewTimer(a.idleRefresh)
	defer t.Stop()
	var closed bool
	select {
	case <-wake:
	case <-t.C:
		refresh = true
	case <-ctx.Done():
	case <-c.Closed():
		closed = true
	}
	if closed {
		return false, errors.New("connection closed by server during idle")
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err := cmd.Close(); err != nil {
		return false, fmt.Errorf("end idle: %w", err)
	}
	if err := cmd.Wait(); err != nil {
		return false, fmt.Errorf("idle: %w", err)
	}
	return refresh, nil
}

// waitPoll is for servers without IDLE: a NOOP every poll_interval lets
// the server report new mail.
func (a *Adapter) waitPoll(ctx context.Context, c *imapclient.Client, wake <-chan struct{}) (refresh bool, err error) {
	t := time.NewTimer(a.s.PollInterval)
	defer t.Stop()
	select {
	case <-wake:
		return false, nil
	case <-t.C:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	if err := c.Noop().Wait(); err != nil {
		return false, fmt.Errorf("noop: %w", err)
	}
	return true, nil
}

func (a *Adapter) loadCursor(ctx context.Context) (cursor, error) {
	var cur cursor
	v, found, err := a.env.KV.KVGet(ctx, a.key("cursor"))
	if err != nil {
		return cur, fmt.Errorf("read cursor: %w", err)
	}
	if found {
		if err := json.Unmarshal(v, &cur); err != nil {
			a.log.Error("unreadable cursor; rescanning folder", "err", err)
			return cursor{}, nil
		}
	}
	return cur, nil
}

func (a *Adapter) saveCursor(ctx context.Context, cur cursor) error {
	v, _ := json.Marshal(cur)
	if err := a.env.KV.KVPut(ctx, a.key("cursor"), v, 0); err != nil {
		return fmt.Errorf("save cursor: %w", err)
	}
	return nil
}

// readNew handles every mail above the cursor, oldest first, advancing
// the cursor after each. An error that retrying can fix (intake or KV
// down) stops here without advancing, so the mail is read again.
func (a *Adapter) readNew(ctx context.Context, c *imapclient.Client, cur *cursor) error {
	data, err := c.UIDSearch(&imap.SearchCriteria{
		UID: []imap.UIDSet{{imap.UIDRange{Start: imap.UID(cur.LastUID + 1), Stop: 0}}},
	}, nil).Wait()
	if err != nil {
		return fmt.Errorf("search new mail: %w", err)
	}
	for _, uid := range data.AllUIDs() {
		// "n:*" matches the highest UID even when it is below n.
		if uint32(uid) <= cur.LastUID {
			continue
		}
		if err := a.handleUID(ctx, c, uid); err != nil {
			return err
		}
		cur.LastUID = uint32(uid)
		if err := a.saveCursor(ctx, *cur); err != nil {
			return err
		}
	}
	return nil
}

// handleUID processes one mail. It returns an error only for failures
// worth retrying; a bad mail is dead-lettered or skipped and logged.
func (a *Adapter) handleUID(ctx context.Context, c *imapclient.Client, uid imap.UID) error {
	log := a.log.With("uid", uid)
	set := imap.UIDSetNum(uid)
	meta, err := c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true, RFC822Size: true}).Collect()
	if err != nil {
		return fmt.Errorf("fetch uid %d: %w", uid, err)
	}
	if len(meta) == 0 {
		return nil // expunged meanwhile
	}
	for _, f := range meta[0].Flags {
		if strings.EqualFold(string(f), Keyword) {
			return nil // handled before a UIDVALIDITY change
		}
	}
	lim := a.limits()
	if meta[0].RFC822Size > lim.MaxMessageBytes {
		log.Error("mail too large; moved to dead-letter folder", "size", meta[0].RFC822Size, "max", lim.MaxMessageBytes)
		return a.deadLetter(ctx, c, uid, "too large")
	}
	section := &imap.FetchItemBodySection{Peek: true}
	bufs, err := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		return fmt.Errorf("fetch body of uid %d: %w", uid, err)
	}
	if len(bufs) == 0 {
		return nil
	}
	raw := bufs[0].FindBodySection(section)

	m, skip, err := a.toMessage(ctx, raw, log)
	switch {
	case err != nil && errors.Is(err, ErrMalformed):
		log.Error("mail cannot be parsed; moved to dead-letter folder", "err", err)
		return a.deadLetter(ctx, c, uid, err.Error())
	case err != nil:
		return err
	case skip != "":
		log.Info("mail not submitted", "reason", skip)
		return a.markProcessed(ctx, c, uid)
	}
	r, err := a.env.Intake.Submit(ctx, m)
	if errors.Is(err, gateway.ErrInvalid) {
		log.Error("intake rejected mail; moved to dead-letter folder", "message_id", m.PortalMessageID, "err", err)
		return a.deadLetter(ctx, c, uid, err.Error())
	}
	if err != nil {
		return fmt.Errorf("submit mail uid %d: %w", uid, err)
	}
	log.Info("mail submitted", "message", r.MessageID, "message_id", m.PortalMessageID, "thread", m.ThreadKey)
	return a.markProcessed(ctx, c, uid)
}

// markProcessed moves the mail to processed_folder, or flags it \Seen and
// $Dargah. A failure is logged, not retried: the cursor is what prevents
// reading the mail twice.
func (a *Adapter) markProcessed(ctx context.Context, c *imapclient.Client, uid imap.UID) error {
	if a.s.ProcessedFolder != "" {
		if err := a.move(c, uid, a.s.ProcessedFolder); err != nil {
			a.log.Warn("move to processed folder", "uid", uid, "err", err)
		}
		return nil
	}
	err := c.Store(imap.UIDSetNum(uid), &imap.StoreFlags{
		Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen, Keyword},
	}, nil).Close()
	if err != nil {
		a.log.Warn("flag mail processed", "uid", uid, "err", err)
	}
	return nil
}

// deadLetter keeps a mail Dargah could not take in the dead-letter folder.
// If the move fails the mail stays where it is, flagged, and the poller
// goes on: it is never deleted.
func (a *Adapter) deadLetter(ctx context.Context, c *imapclient.Client, uid imap.UID, reason string) error {
	if err := a.move(c, uid, a.s.DeadFolder); err != nil {
		a.log.Error("move to dead-letter folder failed; mail left in place", "uid", uid, "reason", reason, "err", err)
		_ = c.Store(imap.UIDSetNum(uid), &imap.StoreFlags{
			Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{Keyword, "$DargahDead"},
		}, nil).Close()
	}
	return nil
}

// move creates the target folder when missing and moves the mail there
// (MOVE, or COPY + \Deleted + UID EXPUNGE on servers without it).
func (a *Adapter) move(c *imapclient.Client, uid imap.UID, folder string) error {
	if err := c.Create(folder, nil).Wait(); err != nil {
		var ie *imap.Error
		if !errors.As(err, &ie) || (ie.Code != imap.ResponseCodeAlreadyExists && ie.Type != imap.StatusResponseTypeNo) {
			return fmt.Errorf("create %s: %w", folder, err)
		}
	}
	set := imap.UIDSetNum(uid)
	if c.Caps().Has(imap.CapMove) {
		if _, err := c.Move(set, folder).Wait(); err != nil {
			return fmt.Errorf("move to %s: %w", folder, err)
		}
		return nil
	}
	if _, err := c.Copy(set, folder).Wait(); err != nil {
		return fmt.Errorf("copy to %s: %w", folder, err)
	}
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		return fmt.Errorf("flag deleted: %w", err)
	}
	if c.Caps().Has(imap.CapUIDPlus) {
		if err := c.UIDExpunge(set).Close(); err != nil {
			return fmt.Errorf("expunge: %w", err)
		}
	}
	return nil
}
