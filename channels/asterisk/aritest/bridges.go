package aritest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// bridgeTypes are the words bridges.json's description allows in the
// comma-separated type parameter (it has no allowableValues for them).
var bridgeTypes = []string{"mixing", "holding", "dtmf_events", "proxy_media", "video_sfu", "video_single", "sdp_label"}

var bridgeHandlers = map[string]func(*call) int{
	"bridges.list":          hBridgeList,
	"bridges.create":        hBridgeCreate,
	"bridges.createWithId":  hBridgeCreate,
	"bridges.get":           withBridge(func(c *call, b *bridge) int { return c.ok(b.wire()) }),
	"bridges.destroy":       withBridge(hBridgeDestroy),
	"bridges.addChannel":    withBridge(hAddChannel),
	"bridges.removeChannel": withBridge(hRemoveChannel),
	"bridges.startMoh": withBridge(func(c *call, b *bridge) int {
		b.moh, b.mohClass = true, c.param("mohClass")
		if b.mohClass == "" {
			b.mohClass = "default"
		}
		return c.noContent()
	}),
	"bridges.stopMoh":      withBridge(func(c *call, b *bridge) int { b.moh = false; return c.noContent() }),
	"bridges.play":         withBridge(hBridgePlay),
	"bridges.playWithId":   withBridge(hBridgePlay),
	"bridges.record":       withBridge(hBridgeRecord),
	"bridges.getBridgeVar": withBridge(hGetBridgeVar),
	"bridges.setBridgeVar": withBridge(func(c *call, b *bridge) int {
		b.vars[c.param("variable")] = c.param("value")
		return c.noContent()
	}),
}

func withBridge(h func(*call, *bridge) int) func(*call) int {
	return func(c *call) int {
		b := c.s.bridges[c.path("bridgeId")]
		if b == nil {
			return c.fail(http.StatusNotFound, "Bridge not found")
		}
		return h(c, b)
	}
}

func hBridgeList(c *call) int {
	out := []map[string]any{}
	for _, id := range c.s.bridgeOrder {
		out = append(out, c.s.bridges[id].wire())
	}
	return c.ok(out)
}

func hBridgeCreate(c *call) int {
	s := c.s
	typ := c.param("type")
	if typ == "" {
		typ = "mixing"
	}
	for t := range strings.SplitSeq(typ, ",") {
		if !slices.Contains(bridgeTypes, t) {
			// Not in allowableValues, but bridges.json's description lists
			// the words; an unknown one is a client bug.
			s.mu.Unlock()
			s.violate(Violation{Method: c.r.Method, Path: c.r.URL.Path, Query: c.r.URL.RawQuery, Op: c.rt.opName(),
				Reason: fmt.Sprintf("bridge type %q not one of %v", t, bridgeTypes), Status: 400})
			s.mu.Lock()
			return c.fail(http.StatusBadRequest, "Invalid bridge type")
		}
	}
	id := c.path("bridgeId")
	if id == "" {
		id = c.param("bridgeId")
	}
	if id == "" {
		id = fmt.Sprintf("aritest-bridge-%d", s.nextSeq())
	}
	if s.bridges[id] != nil {
		return c.fail(http.StatusConflict, "Bridge with the same bridgeId already exists")
	}
	b := &bridge{id: id, name: c.param("name"), typ: typ, created: s.now(), vars: map[string]string{}, app: s.cfg.App}
	s.bridges[id] = b
	s.bridgeOrder = append(s.bridgeOrder, id)
	s.emit(b.app, "BridgeCreated", "", map[string]any{"bridge": b.wire()})
	return c.ok(b.wire())
}

func hBridgeDestroy(c *call, b *bridge) int {
	s := c.s
	for _, id := range slices.Clone(b.members) {
		if ch := s.channels[id]; ch != nil {
			s.leaveBridge(b, ch)
		}
	}
	for id, p := range s.playbacks {
		if p.target == "bridge:"+b.id {
			p.state = "done"
			s.emit(p.app, "PlaybackFinished", "", map[string]any{"playback": p.wire()})
			delete(s.playbacks, id)
		}
	}
	s.emit(b.app, "BridgeDestroyed", "", map[string]any{"bridge": b.wire()})
	delete(s.bridges, b.id)
	s.bridgeOrder = slices.DeleteFunc(s.bridgeOrder, func(id string) bool { return id == b.id })
	return c.noContent()
}

// leaveBridge removes ch from b and tells the app; s.mu held.
func (s *Server) leaveBridge(b *bridge, ch *channel) {
	b.members = slices.DeleteFunc(b.members, func(id string) bool { return id == ch.id })
	ch.bridge, ch.role = "", ""
	s.emit(ch.app, "ChannelLeftBridge", ch.id, map[string]any{"bridge": b.wire(), "channel": ch.wire()})
}

func hAddChannel(c *call, b *bridge) int {
	s := c.s
	ids := c.list("channel")
	for _, id := range ids {
		ch := s.channels[id]
		if ch == nil {
			return c.fail(http.StatusBadRequest, "Channel not found")
		}
		if !ch.inApp {
			return c.fail(http.StatusUnprocessableEntity, "Channel not in Stasis application")
		}
	}
	for _, id := range ids {
		ch := s.channels[id]
		if ch.bridge == b.id {
			continue
		}
		if ch.bridge != "" {
			if old := s.bridges[ch.bridge]; old != nil {
				s.leaveBridge(old, ch)
			}
		}
		b.members = append(b.members, ch.id)
		ch.bridge, ch.role = b.id, c.param("role")
		s.emit(ch.app, "ChannelEnteredBridge", ch.id, map[string]any{"bridge": b.wire(), "channel": ch.wire()})
	}
	return c.noContent()
}

func hRemoveChannel(c *call, b *bridge) int {
	s := c.s
	ids := c.list("channel")
	for _, id := range ids {
		ch := s.channels[id]
		if ch == nil {
			return c.fail(http.StatusBadRequest, "Channel not found")
		}
		if ch.bridge != b.id {
			return c.fail(http.StatusUnprocessableEntity, "Channel not in this bridge")
		}
	}
	for _, id := range ids {
		s.leaveBridge(b, s.channels[id])
	}
	return c.noContent()
}

func hGetBridgeVar(c *call, b *bridge) int {
	v, ok := b.vars[c.param("variable")]
	if !ok {
		return c.fail(http.StatusNotFound, "Provided variable was not found")
	}
	return c.ok(map[string]string{"value": v})
}
